package id.posyandu.app.logic

import id.posyandu.sync.HouseholdSummary
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.launch

data class HouseholdRow(
    val id: String,
    val title: String,
    val subtitle: String,
    val lastVisitText: String,
    val conflictCount: Int,
)

data class RtGroup(val rt: String, val title: String, val households: List<HouseholdRow>)

data class SearchHit(
    val memberId: String,
    val householdId: String,
    val name: String,
    val detail: String,
)

data class HouseholdListState(
    val loading: Boolean = true,
    /** All RTs of the Posyandu, for the filter chips ("Semua RT" = null). */
    val rtOptions: List<String> = emptyList(),
    val selectedRt: String? = null,
    val query: String = "",
    val groups: List<RtGroup> = emptyList(),
    val hits: List<SearchHit> = emptyList(),
    val error: UiError? = null,
) {
    val searching: Boolean get() = query.isNotBlank()
    val householdCount: Int get() = groups.sumOf { it.households.size }
    val emptyText: String?
        get() = when {
            loading || error != null -> null
            searching && hits.isEmpty() -> "Tidak ada warga dengan nama atau NIK \"${query.trim()}\""
            !searching && groups.isEmpty() && selectedRt != null -> "Belum ada rumah tangga di RT $selectedRt"
            !searching && groups.isEmpty() -> "Belum ada rumah tangga. Sinkronkan untuk mengunduh data Posyandu."
            else -> null
        }
}

/** Household list grouped by RT, RT filter chips, and member search by name or NIK. */
class HouseholdListViewModel(
    private val gw: PosyanduGateway,
    scope: CoroutineScope,
    io: CoroutineDispatcher = Dispatchers.IO,
) : LogicViewModel<HouseholdListState>(HouseholdListState(), scope, io) {

    private var searchJob: Job? = null

    fun refresh(): Job = scope.launch {
        update { it.copy(loading = true, error = null) }
        val rt = current.selectedRt
        try {
            val (all, shown) = onIo {
                val all = gw.listHouseholds(null)
                all to (if (rt == null) all else gw.listHouseholds(rt))
            }
            update {
                it.copy(
                    loading = false,
                    rtOptions = all.map { h -> h.rt }.distinct().sortedWith(rtOrder),
                    groups = group(shown),
                )
            }
            if (current.searching) search(current.query).join()
        } catch (t: Throwable) {
            update { it.copy(loading = false, error = UiError.from(t)) }
        }
    }

    fun selectRt(rt: String?): Job {
        update { it.copy(selectedRt = rt?.trim()?.ifEmpty { null }) }
        return refresh()
    }

    /** Search as the kader types (no debounce needed: the core query is indexed and local). */
    fun setQuery(query: String): Job {
        update { it.copy(query = query) }
        return search(query)
    }

    private fun search(query: String): Job {
        searchJob?.cancel()
        val job = scope.launch {
            if (query.isBlank()) {
                update { it.copy(hits = emptyList()) }
                return@launch
            }
            try {
                val rt = current.selectedRt
                val found = onIo { gw.searchMembers(query.trim(), 100) }
                val hits = found.filter { rt == null || it.rt == rt }.map { m ->
                    SearchHit(
                        memberId = m.id,
                        householdId = m.householdId,
                        name = m.name,
                        detail = listOfNotNull(
                            m.nik?.let { "NIK ${Format.maskNik(it)}" },
                            "RT ${m.rt}",
                            m.stageLabel,
                            Format.age(m.ageMonths),
                        ).joinToString(" · "),
                    )
                }
                update { if (it.query == query) it.copy(hits = hits, error = null) else it }
            } catch (t: Throwable) {
                update { it.copy(error = UiError.from(t)) }
            }
        }
        searchJob = job
        return job
    }

    companion object {
        /** RT "003" before "010" whatever the zero padding. */
        val rtOrder: Comparator<String> = compareBy<String>({ it.toIntOrNull() ?: Int.MAX_VALUE }, { it })

        fun row(h: HouseholdSummary) = HouseholdRow(
            id = h.id,
            title = h.headName ?: "(Kepala keluarga belum diisi)",
            subtitle = listOfNotNull(
                Format.rtRw(h.rt, h.rw),
                h.dusun?.let { "Dusun $it" },
                "${h.memberCount} anggota",
            ).joinToString(" · "),
            lastVisitText = h.lastVisit?.let { "Kunjungan terakhir: ${Format.date(it)}" } ?: "Belum pernah dikunjungi",
            conflictCount = h.conflictCount.toInt(),
        )

        fun group(list: List<HouseholdSummary>): List<RtGroup> =
            list.groupBy { it.rt }.toSortedMap(rtOrder).map { (rt, hs) ->
                RtGroup(rt, "RT $rt (${hs.size} rumah tangga)", hs.map(::row))
            }
    }
}
