package id.posyandu.app.logic

import id.posyandu.sync.HouseholdDetail
import id.posyandu.sync.LifeStage
import id.posyandu.sync.MemberDetail
import id.posyandu.sync.Relation
import id.posyandu.sync.VisitEntry
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.launch

data class MemberRow(
    val id: String,
    val name: String,
    val relation: String,
    val sexAge: String,
    val stage: LifeStage,
    val stageLabel: String,
    val nikText: String,
    val ageMonths: Int,
    val isHead: Boolean,
    /** The core's NIK warnings ("NIK tidak cocok: …"), shown under the member. */
    val warnings: List<String> = emptyList(),
    /** Under-fives: "Buku KIA/KMS: Ya / Tidak / belum dicatat"; others `null`. */
    val kiaBookText: String? = null,
    val sex: id.posyandu.sync.Sex? = null,
    /** `YYYY-MM-DD`. */
    val birthDate: String = "",
    /** The core's "under five" (0–59 completed months): the under-five form and lists. */
    val isUnderFive: Boolean = false,
    /** The core's default measuring position for an under-five (lying/standing). */
    val expectedMeasure: id.posyandu.sync.Measure? = null,
)

data class VisitRow(val id: String, val dateText: String, val kindLabel: String, val kaderId: String, val lines: List<String>)

data class PregnancyRow(
    val id: String,
    val memberId: String,
    val text: String,
    /** Not ended yet: the detail offers "Kehamilan selesai". */
    val ongoing: Boolean,
    val kek: Boolean,
)

/** A pending destructive action the screen asks the kader to confirm. */
sealed interface Confirm {
    data class DeleteVisit(val visit: VisitRow) : Confirm {
        val text: String get() = "Hapus kunjungan ${visit.dateText} (${visit.kindLabel})? Kunjungan ditandai terhapus di semua HP setelah sinkron."
    }
    data class EndPregnancy(val pregnancy: PregnancyRow, val date: String) : Confirm
}

data class HouseholdDetailState(
    val loading: Boolean = true,
    val id: String = "",
    val title: String = "",
    val address: String = "",
    val kkText: String = "",
    val members: List<MemberRow> = emptyList(),
    /** Newest first. */
    val visits: List<VisitRow> = emptyList(),
    val pregnancies: List<PregnancyRow> = emptyList(),
    val spm: List<String> = emptyList(),
    val conflictCount: Int = 0,
    /** Women 10+ years old: "Catat kehamilan" is offered only when there is one. */
    val canRecordPregnancy: Boolean = false,
    val confirm: Confirm? = null,
    val busy: Boolean = false,
    /** Result of the last action ("Kunjungan 12 Mei 2025 dihapus"). */
    val message: String? = null,
    val today: String = "",
    val error: UiError? = null,
)

class HouseholdDetailViewModel(
    private val gw: PosyanduGateway,
    private val householdId: String,
    scope: CoroutineScope,
    io: CoroutineDispatcher = Dispatchers.IO,
) : LogicViewModel<HouseholdDetailState>(HouseholdDetailState(id = householdId), scope, io) {

    fun refresh(): Job = scope.launch {
        update { it.copy(loading = true, error = null) }
        try {
            val (h, conflicts, today) = onIo { Triple(gw.household(householdId), gw.conflicts(householdId).size, gw.today()) }
            update { old -> toState(h, conflicts).copy(today = today, message = old.message, confirm = old.confirm) }
        } catch (t: Throwable) {
            update { it.copy(loading = false, error = UiError.from(t)) }
        }
    }

    /** Asks for confirmation before tombstoning a visit. */
    fun askDeleteVisit(visitId: String) = update { s ->
        s.visits.firstOrNull { it.id == visitId }?.let { s.copy(confirm = Confirm.DeleteVisit(it), message = null, error = null) } ?: s
    }

    /** Asks for the end date (default today) of an ongoing pregnancy. */
    fun askEndPregnancy(pregnancyId: String) = update { s ->
        s.pregnancies.firstOrNull { it.id == pregnancyId && it.ongoing }
            ?.let { s.copy(confirm = Confirm.EndPregnancy(it, s.today), message = null, error = null) } ?: s
    }

    /** The date picker of the end-pregnancy dialog. */
    fun setEndDate(date: String) = update { s ->
        val c = s.confirm
        if (c is Confirm.EndPregnancy) s.copy(confirm = c.copy(date = date)) else s
    }

    fun dismissConfirm() = update { it.copy(confirm = null) }

    /** Runs the confirmed action; on error the dialog closes and the core's message is shown. */
    fun confirm(): Job = scope.launch {
        val c = current.confirm ?: return@launch
        update { it.copy(busy = true, error = null, message = null) }
        try {
            val msg = onIo {
                when (c) {
                    is Confirm.DeleteVisit -> {
                        gw.deleteVisit(householdId, c.visit.id)
                        "Kunjungan ${c.visit.dateText} dihapus"
                    }
                    is Confirm.EndPregnancy -> {
                        gw.endPregnancy(householdId, c.pregnancy.id, c.date.trim())
                        "Kehamilan dicatat selesai ${Format.date(c.date)}"
                    }
                }
            }
            update { it.copy(busy = false, confirm = null, message = msg) }
            refresh().join()
        } catch (t: Throwable) {
            update { it.copy(busy = false, confirm = null, error = UiError.from(t)) }
        }
    }

    companion object {
        fun toState(h: HouseholdDetail, conflictCount: Int): HouseholdDetailState {
            val names = h.members.associate { it.id to it.name }
            val head = h.members.firstOrNull { it.id == h.headMemberId }
            val a = h.address
            return HouseholdDetailState(
                loading = false,
                id = h.id,
                title = head?.name?.let { "Keluarga $it" } ?: "Rumah tangga",
                address = listOfNotNull(a.street, a.dusun?.let { "Dusun $it" }, Format.rtRw(a.rt, a.rw)).joinToString(", "),
                kkText = h.kkNumber?.let { "No. KK $it" } ?: "No. KK belum diisi",
                members = h.members
                    .sortedWith(compareBy<MemberDetail>({ it.id != h.headMemberId }, { it.relation != Relation.ISTRI && it.relation != Relation.SUAMI }, { it.birthDate }))
                    .map { member(it, it.id == h.headMemberId) },
                visits = h.visits.reversed().map { v ->
                    VisitRow(v.id, Format.date(v.date), Labels.visitKind(v.kind), v.kaderId,
                        v.entries.map { e -> "${names[e.memberId] ?: "(anggota dihapus)"}: ${entrySummary(e)}" })
                },
                pregnancies = h.pregnancies.sortedByDescending { it.lmp }.map { p ->
                    val who = names[p.memberId] ?: "(anggota dihapus)"
                    // The state (and when an unrecorded pregnancy stops counting) comes from the core.
                    val status = p.ended?.let { "selesai ${Format.date(it)}" }
                        ?: "HPHT ${Format.date(p.lmp)}, HPL ${Format.date(p.dueDate)}" +
                        (if (p.state == id.posyandu.sync.PregnancyState.END_NOT_RECORDED) " · ${p.stateLabel}" else "")
                    PregnancyRow(
                        id = p.id,
                        memberId = p.memberId,
                        text = "$who: kehamilan ke-${p.gravida}, $status" +
                            (p.muacCm?.let { " · LiLA ${Format.decimal(it)} cm" } ?: "") +
                            (if (p.kek) " · KEK (LiLA < ${Format.decimal(id.posyandu.sync.kekMuacThresholdCm())} cm)" else ""),
                        ongoing = p.ended == null,
                        kek = p.kek,
                    )
                },
                spm = listOfNotNull(
                    h.spm.cleanWater?.let { "Air bersih: ${yesNo(it)}" },
                    h.spm.latrine?.let { "Jamban sehat: ${yesNo(it)}" },
                    h.spm.rutilahu?.let { "Rumah tidak layak huni: ${yesNo(it)}" },
                    h.spm.socialAid?.let { "Penerima bantuan sosial: ${yesNo(it)}" },
                    h.spm.childOutOfSchool?.let { "Ada anak putus sekolah: ${yesNo(it)}" },
                    h.spm.publicOrderNote?.let { "Catatan ketertiban: $it" },
                ),
                conflictCount = conflictCount,
                canRecordPregnancy = h.members.any { id.posyandu.sync.mayRecordPregnancy(it.sex, it.ageMonths) },
            )
        }

        fun member(m: MemberDetail, isHead: Boolean) = MemberRow(
            id = m.id,
            name = m.name,
            relation = Labels.relation(m.relation),
            sexAge = "${Labels.sex(m.sex)} · ${Format.age(m.ageMonths)}",
            stage = m.stage,
            stageLabel = m.stageLabel,
            nikText = m.nik?.let { "NIK $it" }
                ?: m.motherNik?.let { "Belum ber-NIK (NIK ibu ${it.motherNik}, anak ke-${it.birthOrder})" }
                ?: "NIK belum diisi",
            ageMonths = m.ageMonths,
            isHead = isHead,
            warnings = m.warnings.map { it.message },
            kiaBookText = if (m.underFive) Labels.kiaBook(m.kiaBook) else null,
            sex = m.sex,
            birthDate = m.birthDate,
            isUnderFive = m.underFive,
            expectedMeasure = m.expectedMeasure,
        )

        private fun yesNo(b: Boolean) = if (b) "Ya" else "Tidak"

        /** `BB 7,9 kg, PB 69,5 cm; imunisasi BCG; vitamin A; rujuk: …` */
        fun entrySummary(e: VisitEntry): String {
            val m = e.measurements
            val parts = mutableListOf<String>()
            val meas = listOfNotNull(
                m.weightKg?.let { "BB ${Format.decimal(it)} kg" },
                m.lengthHeightCm?.let { "${if (m.measure == id.posyandu.sync.Measure.STANDING) "TB" else "PB"} ${Format.decimal(it)} cm" },
                m.headCircumferenceCm?.let { "LK ${Format.decimal(it)} cm" },
                m.muacCm?.let { "LiLA ${Format.decimal(it)} cm" },
                if (m.bpSystolicMmhg != null && m.bpDiastolicMmhg != null) "TD ${m.bpSystolicMmhg}/${m.bpDiastolicMmhg} mmHg" else null,
                m.bloodGlucoseMgDl?.let { "${if (m.bloodGlucoseKind == id.posyandu.sync.GlucoseKind.PUASA) "GDP" else "GDS"} ${Format.decimal(it)} mg/dL" },
                m.waistCm?.let { "LP ${Format.decimal(it)} cm" },
                if (m.oedema == true) "edema" else null,
            )
            if (meas.isNotEmpty()) parts += meas.joinToString(", ")
            val s = e.services
            if (s.immunisations.isNotEmpty()) parts += "imunisasi " + s.immunisations.joinToString(", ") { Labels.antigen(it) }
            if (s.vitaminA) parts += "vitamin A" + (s.vitaminACapsule?.let { " (${Labels.vitaminACapsule(it).lowercase()})" } ?: "")
            if (s.deworming) parts += "obat cacing"
            s.ironTablets?.let { parts += "TTD $it tablet" }
            if (s.supplementaryFood) parts += "PMT"
            e.referral?.let { parts += "rujuk" + (it.to?.let { t -> " ke $t" } ?: "") + ": ${it.reason}" }
            e.spmNeeds.forEach { parts += "kebutuhan ${Labels.spmArea(it.area)}: ${it.need}" }
            return if (parts.isEmpty()) "dikunjungi" else parts.joinToString("; ")
        }
    }
}
