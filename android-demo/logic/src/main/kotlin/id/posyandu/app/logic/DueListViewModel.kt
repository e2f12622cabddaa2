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
    /** A KMS referral trigger (T, 2T, below the red line, above the orange line) or pregnant with KEK: visit first. */
    val urgent: Boolean,
    /** Only "expected at this month's session" (hari buka not held yet): no home visit needed yet. */
    val expectedOnly: Boolean = false,
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
    /** Members needing a home visit (not only expected at the session). */
    val toVisit: Int get() = groups.sumOf { g -> g.rows.count { !it.expectedOnly } }
    val expected: Int get() = total - toVisit
    val summary: String get() = listOfNotNull(
        if (toVisit == 0) "Tidak ada warga yang perlu dikunjungi" else "$toVisit warga perlu dikunjungi",
        if (expected > 0) "$expected anak diharapkan datang ke Posyandu" else null,
    ).joinToString(" · ")
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
                val rows = items.map(::row).sortedWith(compareBy({ !it.urgent }, { it.expectedOnly }, { it.name }))
                DueGroup(rt, "RT $rt (${rows.size})", rows)
            }
        update { it.copy(groups = groups) }
    }

    companion object {
        /** The codes come from the core; which ones are visited first is the app's ordering only. */
        private val URGENT = setOf(
            DueReasonCode.TWO_T, DueReasonCode.SINGLE_T, DueReasonCode.BELOW_RED_LINE,
            DueReasonCode.ABOVE_ORANGE_LINE, DueReasonCode.PREGNANT_KEK,
        )

        fun row(d: DueItem) = DueRow(
            memberId = d.memberId,
            householdId = d.householdId,
            name = d.name,
            subtitle = listOfNotNull(d.stageLabel, d.headName?.let { "Keluarga $it" }).joinToString(" · "),
            reasons = d.reasons.map { it.label },
            urgent = d.reasons.any { it.code in URGENT },
            expectedOnly = d.reasons.all { it.code == DueReasonCode.EXPECTED_AT_SESSION },
        )
    }
}
