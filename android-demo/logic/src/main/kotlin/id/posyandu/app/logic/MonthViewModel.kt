package id.posyandu.app.logic

import id.posyandu.sync.HomeVisitListInfo
import id.posyandu.sync.PosyanduException
import id.posyandu.sync.ServiceRegisterInfo
import id.posyandu.sync.UndanganList
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.launch

/** One person on a list of the month. */
data class MonthRow(
    val memberId: String,
    val householdId: String,
    val name: String,
    val subtitle: String,
    /** Indonesian texts from the core (reasons, or what was recorded). */
    val details: List<String>,
    /** "Hadir" / "Tidak hadir" (register) or the home-visit section's label. */
    val marker: String? = null,
)

data class MonthSection(val title: String, val rows: List<MonthRow>, val emptyText: String)

data class MonthState(
    val loading: Boolean = true,
    /** E.g. "selasa kedua setiap bulan"; `null` without a rule. */
    val scheduleLabel: String? = null,
    val nextServiceDay: String? = null,
    /** H-1 undangan list, register of the latest session, home-visit list after it — in that order. */
    val sections: List<MonthSection> = emptyList(),
    val error: UiError? = null,
) {
    val scheduleText: String
        get() = when {
            nextServiceDay != null -> "Hari buka berikutnya: ${Format.date(nextServiceDay)}" +
                (scheduleLabel?.let { " ($it)" } ?: "")
            else -> "Jadwal hari buka belum diatur"
        }
}

/** "Bulan ini": the month's service day lists from the core, in the order the kader works. */
class MonthViewModel(
    private val gw: PosyanduGateway,
    scope: CoroutineScope,
    io: CoroutineDispatcher = Dispatchers.IO,
) : LogicViewModel<MonthState>(MonthState(), scope, io) {

    fun refresh(): Job = scope.launch {
        update { it.copy(loading = true, error = null) }
        try {
            val info = onIo { gw.posyandu() }
            val invite = onIo { orNone { gw.undangan(null) } }
            val after = onIo { orNone { gw.homeVisitList(null) } }
            val register = after?.let { onIo { gw.serviceRegister(it.serviceDay) } }
            val sections = listOfNotNull(
                invite?.let(::inviteSection),
                register?.let(::registerSection),
                after?.let(::homeVisitSection),
            )
            update {
                it.copy(loading = false, scheduleLabel = info.ruleLabel, nextServiceDay = info.nextServiceDay, sections = sections)
            }
        } catch (t: Throwable) {
            update { it.copy(loading = false, error = UiError.from(t)) }
        }
    }

    /** A list the schedule does not give (no service day yet) is left out. */
    private inline fun <T> orNone(f: () -> T): T? = try {
        f()
    } catch (e: PosyanduException.NotFound) {
        null
    }

    companion object {
        fun inviteSection(u: UndanganList) = MonthSection(
            title = "Undangan hari buka ${Format.date(u.serviceDay)} (${u.items.size})",
            rows = u.items.map { i ->
                MonthRow(i.memberId, i.householdId, i.name, subtitle(i.rt, i.stageLabel, i.headName), i.reasons.map { it.label })
            },
            emptyText = "Tidak ada yang diundang",
        )

        fun registerSection(r: ServiceRegisterInfo) = MonthSection(
            title = "Register hari buka ${Format.date(r.serviceDay)}: ${r.came} dari ${r.expected} hadir",
            rows = r.entries.map { e ->
                val recorded = listOfNotNull(
                    e.weightKg?.let { w -> "BB ${Format.decimal(w)} kg" + (e.trend?.let { " ($it)" } ?: "") },
                    e.lengthHeightCm?.let { "TB/PB ${Format.decimal(it)} cm" },
                    e.muacCm?.let { "LiLA ${Format.decimal(it)} cm" },
                    if (e.vitaminA) "Vitamin A" else null,
                    e.immunisations.takeIf { it.isNotEmpty() }?.joinToString(", ", prefix = "Imunisasi: "),
                )
                MonthRow(e.memberId, e.householdId, e.name, subtitle(e.rt, e.stageLabel, null),
                    recorded + e.risks.map { it.label }, if (e.came) "Hadir" else "Tidak hadir")
            },
            emptyText = "Belum ada yang tercatat",
        )

        fun homeVisitSection(h: HomeVisitListInfo) = MonthSection(
            title = "Kunjungan rumah setelah hari buka ${Format.date(h.serviceDay)} (${h.items.size})",
            rows = h.items.map { i ->
                val why = (if (i.section == "tidak_hadir") i.expected.map { it.label } else emptyList()) + i.risks.map { it.label }
                MonthRow(i.memberId, i.householdId, i.name, subtitle(i.rt, i.stageLabel, i.headName), why, i.sectionLabel)
            },
            emptyText = "Tidak ada yang perlu dikunjungi",
        )

        private fun subtitle(rt: String, stage: String, head: String?) =
            listOfNotNull("RT $rt", stage, head?.let { "Keluarga $it" }).joinToString(" · ")
    }
}
