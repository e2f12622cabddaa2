package id.posyandu.app.logic

import id.posyandu.sync.DueItem
import id.posyandu.sync.DueReasonCode
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.launch

data class DueRow(
    val memberId: String,
    val householdId: String,
    val name: String,
    val subtitle: String,
    /** Indonesian reason texts from the core ("Belum ditimbang bulan ini", …). */
    val reasons: List<String>,
    /** 2T or pregnant with KEK: visit first. */
    val urgent: Boolean,
)

data class DueGroup(val rt: String, val title: String, val rows: List<DueRow>)

data class DueListState(
    val loading: Boolean = true,
    val rtOptions: List<String> = emptyList(),
    val selectedRt: String? = null,
    val groups: List<DueGroup> = emptyList(),
    val error: UiError? = null,
) {
    val total: Int get() = groups.sumOf { it.rows.size }
    val summary: String get() = if (total == 0) "Tidak ada warga yang perlu dikunjungi" else "$total warga perlu dikunjungi"
}

/** "Perlu dikunjungi": members due for a home visit, by RT, urgent ones first. */
class DueListViewModel(
    private val gw: PosyanduGateway,
    scope: CoroutineScope,
    io: CoroutineDispatcher = Dispatchers.IO,
) : LogicViewModel<DueListState>(DueListState(), scope, io) {

    private var all: List<DueItem> = emptyList()

    fun refresh(): Job = scope.launch {
        update { it.copy(loading = true, error = null) }
        try {
            all = onIo { gw.dueVisits() }
            update { it.copy(loading = false, rtOptions = all.map { d -> d.rt }.distinct().sortedWith(HouseholdListViewModel.rtOrder)) }
            regroup()
        } catch (t: Throwable) {
            update { it.copy(loading = false, error = UiError.from(t)) }
        }
    }

    fun selectRt(rt: String?) {
        update { it.copy(selectedRt = rt) }
        regroup()
    }

    private fun regroup() {
        val rt = current.selectedRt
        val groups = all.filter { rt == null || it.rt == rt }
            .groupBy { it.rt }.toSortedMap(HouseholdListViewModel.rtOrder)
            .map { (rt, items) ->
                val rows = items.map(::row).sortedWith(compareBy({ !it.urgent }, { it.name }))
                DueGroup(rt, "RT $rt (${rows.size})", rows)
            }
        update { it.copy(groups = groups) }
    }

    companion object {
        private val URGENT = setOf(DueReasonCode.TWO_T, DueReasonCode.PREGNANT_KEK)

        fun row(d: DueItem) = DueRow(
            memberId = d.memberId,
            householdId = d.householdId,
            name = d.name,
            subtitle = listOfNotNull(d.stageLabel, d.headName?.let { "Keluarga $it" }).joinToString(" · "),
            reasons = d.reasons.map { it.label },
            urgent = d.reasons.any { it.code in URGENT },
        )
    }
}
