package id.posyandu.app.logic

import id.posyandu.sync.SpmNeedDef
import id.posyandu.sync.SpmRequestSummary
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.launch

/** One coded need the kader can pick. */
data class SpmNeedOption(val code: String, val label: String, val areaLabel: String, val forMember: Boolean)

/** One request in the list. */
data class SpmRow(
    val householdId: String,
    val key: String,
    /** "Penyandang disabilitas membutuhkan alat bantu — Darto". */
    val title: String,
    val areaLabel: String,
    val status: String,
    val statusLabel: String,
    val closed: Boolean,
    /** "2 catatan · dicatat 12 Mei 2025". */
    val detail: String,
    /** The koordinator may verify it now / hand it to the desa now. */
    val canVerify: Boolean,
    val canForward: Boolean,
)

/** A household or member to raise a need for. */
data class SpmChoice(val id: String, val label: String)

data class SpmState(
    val loading: Boolean = true,
    /** Households of the store ("Keluarga Darto · RT 004"), for the raise form. */
    val households: List<SpmChoice> = emptyList(),
    /** Members of the chosen household. */
    val members: List<SpmChoice> = emptyList(),
    val householdId: String? = null,
    val koordinator: Boolean = false,
    val showClosed: Boolean = false,
    val needs: List<SpmNeedOption> = emptyList(),
    val rows: List<SpmRow> = emptyList(),
    val saving: Boolean = false,
    val message: String? = null,
    val error: UiError? = null,
) {
    val emptyText: String? get() = if (!loading && error == null && rows.isEmpty()) "Belum ada kebutuhan SPM yang dicatat" else null
}

/**
 * "Kebutuhan SPM": raise a need of a person or of the household for the desa (the
 * same need already raised gets the note added), follow every request's status, and,
 * for the kader koordinator, verify and hand requests to the desa. Every rule (the
 * catalogue, who may do what, the status) is the core's; this only shows it.
 */
class SpmViewModel(
    private val gw: SpmGateway,
    scope: CoroutineScope,
    io: CoroutineDispatcher = Dispatchers.IO,
    /** Households and members for the raise form (`null`: no form, e.g. a preview). */
    private val people: PosyanduGateway? = null,
) : LogicViewModel<SpmState>(SpmState(), scope, io) {

    fun refresh(): Job = scope.launch {
        update { it.copy(loading = true, error = null) }
        try {
            val (needs, koord, rows) = onIo { Triple(gw.spmNeeds().map(::option), gw.isKoordinator(), load(current.showClosed)) }
            val households = onIo {
                people?.listHouseholds(null)?.map { SpmChoice(it.id, (it.headName?.let { n -> "Keluarga $n" } ?: "Rumah tangga") + " · RT ${it.rt}") }
                    ?: emptyList()
            }
            update { it.copy(loading = false, needs = needs, koordinator = koord, rows = rows, households = households) }
        } catch (t: Throwable) {
            update { it.copy(loading = false, error = UiError.from(t)) }
        }
    }

    /** Chooses the household of the raise form and loads its members. */
    fun chooseHousehold(householdId: String): Job = scope.launch {
        try {
            val members = onIo { people?.household(householdId)?.members?.map { SpmChoice(it.id, it.name) } ?: emptyList() }
            update { it.copy(householdId = householdId, members = members, error = null) }
        } catch (t: Throwable) {
            update { it.copy(error = UiError.from(t)) }
        }
    }

    /** The needs to offer for a person (`forMember`) or for the household. */
    fun needsFor(forMember: Boolean): List<SpmNeedOption> = current.needs.filter { it.forMember == forMember }

    fun showClosed(on: Boolean): Job = scope.launch {
        update { it.copy(showClosed = on) }
        reload(null)
    }

    fun raise(householdId: String, memberId: String?, needCode: String, note: String): Job = act("Kebutuhan dicatat; diteruskan setelah diverifikasi kader koordinator") {
        gw.raiseSpmNeed(householdId, memberId, needCode, note)
    }

    fun addNote(row: SpmRow, note: String): Job = act("Catatan ditambahkan") { gw.addSpmNote(row.householdId, row.key, note) }

    fun verify(row: SpmRow): Job = act("Diverifikasi") { gw.verifySpmRequest(row.householdId, row.key) }

    fun forward(row: SpmRow): Job = act("Diteruskan ke desa/kelurahan (terkirim saat sinkron)") { gw.forwardSpmRequest(row.householdId, row.key) }

    fun setKoordinator(on: Boolean): Job = act(if (on) "Anda tercatat sebagai kader koordinator" else "Anda bukan lagi kader koordinator") {
        gw.setKoordinator(on)
    }

    private fun act(done: String, block: () -> Unit): Job = scope.launch {
        update { it.copy(saving = true, error = null, message = null) }
        try {
            onIo(block)
            reload(done)
        } catch (t: Throwable) {
            update { it.copy(saving = false, error = UiError.from(t)) }
        }
    }

    private suspend fun reload(done: String?) {
        try {
            val (koord, rows) = onIo { gw.isKoordinator() to load(current.showClosed) }
            update { it.copy(saving = false, loading = false, koordinator = koord, rows = rows, message = done ?: it.message) }
        } catch (t: Throwable) {
            update { it.copy(saving = false, loading = false, error = UiError.from(t)) }
        }
    }

    private fun load(showClosed: Boolean): List<SpmRow> {
        val koord = gw.isKoordinator()
        return gw.spmRequests(!showClosed).map { row(it, koord) }
    }

    companion object {
        fun option(n: SpmNeedDef) = SpmNeedOption(n.code, n.label, n.areaLabel, n.forMember)

        fun row(r: SpmRequestSummary, koordinator: Boolean) = SpmRow(
            householdId = r.householdId,
            key = r.key,
            title = if (r.subjectName.isBlank()) r.needLabel else "${r.needLabel} — ${r.subjectName}",
            areaLabel = r.areaLabel,
            status = r.status,
            statusLabel = r.statusLabel,
            closed = r.closed,
            detail = "${r.notes} catatan · dicatat ${Format.dateTime(r.raisedAt)}",
            // Offered only when the core's lifecycle allows the step (the core checks again).
            canVerify = koordinator && r.status == "dicatat",
            canForward = koordinator && r.status == "diverifikasi",
        )
    }
}
