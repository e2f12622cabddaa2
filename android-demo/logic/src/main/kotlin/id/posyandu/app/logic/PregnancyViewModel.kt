package id.posyandu.app.logic

import id.posyandu.sync.NewPregnancy
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.launch
import id.posyandu.sync.PregnancyPreview
import id.posyandu.sync.kekMuacThresholdCm
import id.posyandu.sync.mayRecordPregnancy
import id.posyandu.sync.pregnancyPreview

data class PregnantCandidate(val memberId: String, val name: String, val ageText: String, val pregnantNow: Boolean)

data class PregnancyState(
    val loading: Boolean = true,
    val householdTitle: String = "",
    /** Women of the household (10 years and older); those already pregnant are marked. */
    val candidates: List<PregnantCandidate> = emptyList(),
    val memberId: String? = null,
    /** HPHT, `YYYY-MM-DD` (date picker). */
    val lmp: String = "",
    val gravida: String = "1",
    /** LiLA in cm as typed (comma or dot). */
    val muac: String = "",
    val today: String = "",
    val saving: Boolean = false,
    val error: UiError? = null,
    val savedPregnancyId: String? = null,
) {
    /** Parsed LiLA, `null` when empty or not a number. */
    val muacCm: Double? get() = Format.parseDecimal(muac)?.takeIf { !it.isNaN() }

    /** HPL, gestational age and KEK as the core computes them from what is typed. */
    val preview: PregnancyPreview get() = pregnancyPreview(lmp, today, muacCm)

    /** KEK as soon as LiLA is typed, before saving (the core's rule); `null` without a LiLA. */
    val kek: Boolean? get() = preview.kek

    val kekText: String?
        get() {
            val limit = Format.decimal(kekMuacThresholdCm())
            return when (kek) {
                true -> "KEK (LiLA < $limit cm): rujuk ke bidan/Puskesmas dan beri PMT ibu hamil"
                false -> "Tidak KEK (LiLA ≥ $limit cm)"
                null -> null
            }
        }

    /** HPL and gestational age from the core, shown while typing; `null` if HPHT is not a date. */
    val dueText: String?
        get() {
            val p = preview
            val due = p.dueDate ?: return null
            return "HPL ${Format.date(due)}" + (p.gestationalWeeks?.let { " · usia kehamilan $it minggu" } ?: "")
        }

    val canSave: Boolean get() = !loading && !saving && savedPregnancyId == null
}

/** "Catat kehamilan": HPHT, gravida, LiLA (KEK flag at once), for a woman of the household. */
class PregnancyViewModel(
    private val gw: PosyanduGateway,
    private val householdId: String,
    scope: CoroutineScope,
    io: CoroutineDispatcher = Dispatchers.IO,
    /** Pre-selected woman (e.g. from her row in the household detail). */
    private val preselectMemberId: String? = null,
) : LogicViewModel<PregnancyState>(PregnancyState(), scope, io) {

    fun load(): Job = scope.launch {
        try {
            val (h, today) = onIo { gw.household(householdId) to gw.today() }
            val pregnant = h.pregnancies.filter { it.ended == null }.map { it.memberId }.toSet()
            val candidates = h.members.filter { mayRecordPregnancy(it.sex, it.ageMonths) }
                .map { PregnantCandidate(it.id, it.name, Format.age(it.ageMonths), it.id in pregnant) }
            update {
                it.copy(
                    loading = false,
                    householdTitle = HouseholdDetailViewModel.toState(h, 0).title,
                    candidates = candidates,
                    today = today,
                    memberId = it.memberId ?: preselectMemberId?.takeIf { id -> candidates.any { c -> c.memberId == id } }
                        ?: candidates.singleOrNull { c -> !c.pregnantNow }?.memberId,
                )
            }
        } catch (t: Throwable) {
            update { it.copy(loading = false, error = UiError.from(t)) }
        }
    }

    fun edit(change: (PregnancyState) -> PregnancyState) = update { change(it).copy(error = null) }

    fun save(): Job = scope.launch {
        val s = current
        if (!s.canSave) return@launch
        val input = try { toInput(s) } catch (f: FormException) {
            update { it.copy(error = UiError(f.message ?: "Data tidak valid", null, ErrorAction.NONE)) }
            return@launch
        }
        update { it.copy(saving = true, error = null) }
        try {
            val id = onIo { gw.addPregnancy(householdId, input) }
            update { it.copy(saving = false, savedPregnancyId = id) }
        } catch (t: Throwable) {
            update { it.copy(saving = false, error = UiError.from(t)) }
        }
    }

    companion object {
        fun toInput(s: PregnancyState): NewPregnancy {
            val member = s.memberId ?: throw FormException("Pilih ibu yang hamil")
            if (s.candidates.any { it.memberId == member && it.pregnantNow }) {
                throw FormException("Kehamilan ibu ini masih tercatat. Catat dulu kehamilan sebelumnya selesai.")
            }
            if (s.lmp.isBlank()) throw FormException("HPHT (hari pertama haid terakhir) wajib diisi")
            val gravida = s.gravida.trim().toIntOrNull()?.takeIf { it in 0..255 }
                ?: throw FormException("Data tidak valid: kehamilan ke- harus berupa bilangan bulat (diisi: \"${s.gravida.trim()}\")")
            val muac = Format.parseDecimal(s.muac)
            if (muac != null && muac.isNaN()) throw FormException("Data tidak valid: LiLA harus berupa angka (diisi: \"${s.muac.trim()}\")")
            return NewPregnancy(memberId = member, lmp = s.lmp.trim(), gravida = gravida.toUByte(), dueDate = null, muacCm = muac)
        }
    }
}
