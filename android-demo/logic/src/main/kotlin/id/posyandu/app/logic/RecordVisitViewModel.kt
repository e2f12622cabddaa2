package id.posyandu.app.logic

import id.posyandu.sync.ChecklistQuestion
import id.posyandu.sync.CounsellingTopic
import id.posyandu.sync.GlucoseKind
import id.posyandu.sync.LifeStage
import id.posyandu.sync.Measure
import id.posyandu.sync.Measurements
import id.posyandu.sync.NewVisit
import id.posyandu.sync.PosyanduException
import id.posyandu.sync.Referral
import id.posyandu.sync.ScreeningResult
import id.posyandu.sync.Services
import id.posyandu.sync.Sex
import id.posyandu.sync.SpmArea
import id.posyandu.sync.SpmNeed
import id.posyandu.sync.VisitEntry
import id.posyandu.sync.VisitKind
import id.posyandu.sync.VitaminACapsule
import id.posyandu.sync.asiEksklusifAsked
import id.posyandu.sync.counsellingTopics
import id.posyandu.sync.expectedVitaminACapsule
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.launch

data class SpmNeedForm(val area: SpmArea, val need: String)

/** The form for one member; numbers are kept as typed (comma or dot) and parsed on use. */
data class EntryForm(
    val memberId: String,
    val name: String,
    val stageLabel: String,
    val ageMonths: Int,
    /** `YYYY-MM-DD`, for the core's vitamin A capsule suggestion and the screening preview. */
    val birthDate: String = "",
    /** In nifas today (the red vitamin A capsule is for ibu nifas too). */
    val nifas: Boolean = false,
    val included: Boolean = false,
    // Measurements
    val weight: String = "",
    val lengthHeight: String = "",
    val measure: Measure? = null,
    val headCirc: String = "",
    val muac: String = "",
    val bpSystolic: String = "",
    val bpDiastolic: String = "",
    val glucose: String = "",
    /** Sewaktu (random, the default) or puasa (fasting): the core judges each by its own threshold. */
    val glucoseKind: GlucoseKind = GlucoseKind.SEWAKTU,
    /** Lingkar perut, cm (adults). */
    val waist: String = "",
    val oedema: Boolean = false,
    // Services
    val immunisations: Set<String> = emptySet(),
    val vitaminA: Boolean = false,
    /** The capsule given (sets [vitaminA]); null with [vitaminA] in visits recorded before capsules. */
    val vitaminACapsule: VitaminACapsule? = null,
    val deworming: Boolean = false,
    val ironTablets: String = "",
    val supplementaryFood: Boolean = false,
    // Referral
    val referral: Boolean = false,
    val referralReason: String = "",
    val referralTo: String = "Puskesmas",
    // SPM needs for other sectors
    val spmNeeds: List<SpmNeedForm> = emptyList(),
    // ILP home-visit checklist: the core's questions for this member at the visit date, and the answers
    val checklist: List<ChecklistQuestion> = emptyList(),
    val answers: Map<String, Boolean> = emptyMap(),
    /** Counselling topic codes given (free text of older visits is kept as it was). */
    val counselling: List<String> = emptyList(),
    /** The core's topics, this member's stage first. */
    val topics: List<CounsellingTopic> = emptyList(),
    // Growth result (children under five)
    val growth: GrowthPreview? = null,
    val growthError: String? = null,
    val growthLoading: Boolean = false,
    /** Edit mode: this member already has an entry in the visit (it can be corrected, not removed). */
    val locked: Boolean = false,
    /** For the screening preview (with `birthDate`). */
    val sex: Sex? = null,
    /** The core's adult screening of what is typed (15 years and older; `Labels.screening` for text). */
    val screening: ScreeningResult? = null,
    /** The core's "under five" (0–59 completed months): which part of the form shows. */
    val isUnderFive: Boolean = false,
    /** The core says the ASI eksklusif question applies (an infant 0–5 months at the visit date). */
    val asiApplies: Boolean = false,
    /** ASI eksklusif: yes / no / not asked (`null`). */
    val asiEksklusif: Boolean? = null,
) {
    val hasAnthropometry: Boolean get() = weight.isNotBlank() || lengthHeight.isNotBlank()
}

data class RecordVisitState(
    val loading: Boolean = true,
    val householdTitle: String = "",
    val date: String = "",
    val kind: VisitKind = VisitKind.KUNJUNGAN_RUMAH,
    val entries: List<EntryForm> = emptyList(),
    val saving: Boolean = false,
    /** Shown at the top of the form; for a rejected save it is the core's Indonesian message. */
    val error: UiError? = null,
    val savedVisitId: String? = null,
    /** Non-null: correcting this recorded visit (date and kind fixed; entries amended one by one). */
    val editVisitId: String? = null,
    /** The store's today: default date and the latest day the date picker allows. */
    val today: String = "",
) {
    val canSave: Boolean get() = !loading && !saving && savedVisitId == null && entries.any { it.included }
    val isEdit: Boolean get() = editVisitId != null
    /** Shown above the form in edit mode. */
    val editNote: String?
        get() = if (isEdit) "Mengubah kunjungan ${Format.date(date)}. Tanggal dan jenis kunjungan tidak bisa diubah: " +
            "jika salah, hapus kunjungan ini di halaman rumah tangga lalu catat ulang." else null
}

/** Thrown for input that never reaches the core (not a number, missing referral reason). */
class FormException(message: String) : Exception(message)

/**
 * Record a home visit: pick members, enter measurements/services/referral/SPM
 * needs, preview the growth result of a child under five, save.
 */
class RecordVisitViewModel(
    private val gw: PosyanduGateway,
    private val householdId: String,
    scope: CoroutineScope,
    io: CoroutineDispatcher = Dispatchers.IO,
    /** Edit mode ("Ubah kunjungan"): the visit to correct through `amendVisitEntry`. */
    private val visitId: String? = null,
) : LogicViewModel<RecordVisitState>(RecordVisitState(editVisitId = visitId), scope, io) {

    private val growthJobs = HashMap<String, Job>()
    /** Edit mode: the entries as recorded, to amend only what changed and keep fields the form does not show. */
    private var original: Map<String, VisitEntry> = emptyMap()

    fun load(): Job = scope.launch {
        try {
            val (h, today) = onIo { gw.household(householdId) to gw.today() }
            val visitDate = visitId?.let { id -> h.visits.firstOrNull { it.id == id }?.date } ?: today
            val lists = onIo { h.members.associate { m -> m.id to gw.checklistFor(householdId, m.id, visitDate) } }
            val births = h.members.associate { it.id to it.birthDate }
            val detail = HouseholdDetailViewModel.toState(h, 0)
            val visit = visitId?.let { id ->
                h.visits.firstOrNull { it.id == id } ?: throw PosyanduException.NotFound("Kunjungan tidak ditemukan (mungkin sudah dihapus)")
            }
            original = visit?.entries?.associateBy { it.memberId }.orEmpty()
            update {
                it.copy(
                    loading = false,
                    householdTitle = detail.title,
                    date = visit?.date ?: today,
                    today = today,
                    kind = visit?.kind ?: it.kind,
                    entries = detail.members.map { m ->
                        val blank = EntryForm(
                            memberId = m.id, name = m.name, stageLabel = m.stageLabel, ageMonths = m.ageMonths,
                            sex = m.sex, birthDate = births[m.id].orEmpty(), nifas = m.stage == LifeStage.IBU_NIFAS,
                            // The core says who is under five and how they are measured (lying
                            // below 731 days, standing from it).
                            isUnderFive = m.isUnderFive,
                            measure = m.expectedMeasure,
                            checklist = lists[m.id]?.questions.orEmpty(),
                            topics = lists[m.id]?.let { counsellingTopics(it.stage) }.orEmpty(),
                            asiApplies = asiEksklusifAsked(births[m.id].orEmpty(), visitDate),
                        )
                        (original[m.id]?.let { e -> form(e, blank) } ?: blank).let { f -> f.copy(screening = screening(f, visit?.date ?: today)) }
                    },
                )
            }
        } catch (t: Throwable) {
            update { it.copy(loading = false, error = UiError.from(t)) }
        }
    }

    /** Sets the visit date now; the returned job refreshes the checklist for it. */
    fun setDate(date: String): Job {
        update { s ->
            if (s.isEdit) s else s.copy(date = date, entries = s.entries.map {
                val asi = asiEksklusifAsked(it.birthDate, date)
                it.copy(growth = null, growthError = null, screening = screening(it, date), asiApplies = asi,
                    asiEksklusif = it.asiEksklusif.takeIf { asi })
            })
        }
        return refreshChecklists(date)
    }

    private fun refreshChecklists(date: String): Job = scope.launch {
        if (current.isEdit) return@launch
        // The checklist follows the member's stage and age on the visit date; answers to questions
        // that no longer apply are dropped (the core would refuse them).
        val lists = runCatching { onIo { current.entries.associate { e -> e.memberId to gw.checklistFor(householdId, e.memberId, date) } } }
            .getOrNull() ?: return@launch
        update { s ->
            s.copy(entries = s.entries.map { e ->
                val l = lists[e.memberId] ?: return@map e
                val codes = l.questions.map { it.code }.toSet()
                e.copy(checklist = l.questions, topics = counsellingTopics(l.stage), answers = e.answers.filterKeys { it in codes })
            })
        }
    }

    /** Answers the ASI eksklusif question (again with the same answer to clear it); only where the core says it applies. */
    fun answerAsi(memberId: String, yes: Boolean) = edit(memberId) {
        if (!it.asiApplies) it else it.copy(asiEksklusif = if (it.asiEksklusif == yes) null else yes)
    }

    /** Answers a checklist question (again with the same answer to clear it). */
    fun answer(memberId: String, code: String, yes: Boolean) = edit(memberId) {
        if (it.answers[code] == yes) it.copy(answers = it.answers - code) else it.copy(answers = it.answers + (code to yes))
    }

    /** Adds or removes a counselling topic given to this member. */
    fun toggleCounselling(memberId: String, code: String) =
        edit(memberId) { it.copy(counselling = if (code in it.counselling) it.counselling - code else it.counselling + code) }
    fun setKind(kind: VisitKind) = update { if (it.isEdit) it else it.copy(kind = kind) }

    /** Any edit of a member's form; a measurement change drops the now stale growth result. */
    fun edit(memberId: String, change: (EntryForm) -> EntryForm) = update { s ->
        s.copy(error = null, entries = s.entries.map { e ->
            if (e.memberId != memberId) e else {
                val n = change(e).let { if (e.locked) it.copy(included = true) else it }
                val measuresChanged = n.weight != e.weight || n.lengthHeight != e.lengthHeight || n.measure != e.measure ||
                    n.muac != e.muac || n.oedema != e.oedema || n.headCirc != e.headCirc
                val withIncluded = if (n != e && n.included == e.included && !e.included) n.copy(included = true) else n
                val screened = withIncluded.copy(screening = screening(withIncluded, s.date))
                if (measuresChanged) screened.copy(growth = null, growthError = null) else screened
            }
        })
    }

    fun setIncluded(memberId: String, included: Boolean) = edit(memberId) { it.copy(included = included) }

    fun toggleImmunisation(memberId: String, code: String) =
        edit(memberId) { it.copy(immunisations = if (code in it.immunisations) it.immunisations - code else it.immunisations + code) }

    /** Picks the vitamin A capsule given (again to clear it); a capsule means vitamin A was given. */
    fun toggleVitaminACapsule(memberId: String, capsule: VitaminACapsule) = edit(memberId) {
        if (it.vitaminACapsule == capsule) it.copy(vitaminACapsule = null, vitaminA = false)
        else it.copy(vitaminACapsule = capsule, vitaminA = true)
    }

    /** The capsule the core expects for this member on the visit date (null: none at this age), or null when unknown. */
    fun suggestedVitaminACapsule(memberId: String): VitaminACapsule? {
        val s = current
        val e = s.entries.firstOrNull { it.memberId == memberId } ?: return null
        if (e.birthDate.isEmpty() || s.date.isEmpty()) return null
        return try { expectedVitaminACapsule(e.birthDate, s.date, e.nifas) } catch (t: PosyanduException) { null }
    }

    fun addSpmNeed(memberId: String, area: SpmArea, need: String) =
        edit(memberId) { it.copy(spmNeeds = it.spmNeeds + SpmNeedForm(area, need.trim())) }

    fun removeSpmNeed(memberId: String, index: Int) =
        edit(memberId) { it.copy(spmNeeds = it.spmNeeds.filterIndexed { i, _ -> i != index }) }

    /** Growth result before saving (bindings' `assessMemberGrowth`: z-scores, categories, the KMS trend the
     *  weighing gets once saved, referral triggers); when correcting a visit, that visit's weighing is replaced. */
    fun previewGrowth(memberId: String): Job {
        growthJobs[memberId]?.cancel()
        val job = scope.launch {
            val s = current
            val e = s.entries.firstOrNull { it.memberId == memberId } ?: return@launch
            if (!e.hasAnthropometry) {
                edit(memberId) { it.copy(growth = null, growthError = "Isi berat badan atau panjang/tinggi badan dulu") }
                return@launch
            }
            val m = try { measurements(e) } catch (f: FormException) {
                edit(memberId) { it.copy(growth = null, growthError = f.message) }
                return@launch
            }
            update { st -> st.copy(entries = st.entries.map { if (it.memberId == memberId) it.copy(growthLoading = true) else it }) }
            val result = runCatching { onIo { gw.assessMemberGrowth(householdId, memberId, s.date, m, s.editVisitId) } }
            update { st ->
                st.copy(entries = st.entries.map {
                    if (it.memberId != memberId) it
                    else result.fold(
                        { r -> it.copy(growthLoading = false, growthError = null, growth = Labels.growthPreview(r, m.muacCm, m.oedema == true)) },
                        { t -> it.copy(growthLoading = false, growth = null, growthError = UiError.from(t).message) },
                    )
                })
            }
            // Red result: pre-fill the referral so the kader does not forget it.
            result.getOrNull()?.let { Labels.growthPreview(it, m.muacCm, m.oedema == true) }?.suggestedReferral?.let { reason ->
                update { st ->
                    st.copy(entries = st.entries.map {
                        if (it.memberId == memberId && !it.referral) it.copy(referral = true, referralReason = reason) else it
                    })
                }
            }
        }
        growthJobs[memberId] = job
        return job
    }

    fun save(): Job = scope.launch {
        val s = current
        if (!s.canSave) {
            if (s.entries.none { it.included }) update { it.copy(error = UiError("Pilih minimal satu anggota keluarga yang dikunjungi", null, ErrorAction.NONE)) }
            return@launch
        }
        val visit = try {
            NewVisit(date = s.date.trim(), kind = s.kind, entries = s.entries.filter { it.included }.map(::entry))
        } catch (f: FormException) {
            update { it.copy(error = UiError(f.message ?: "Data tidak valid", null, ErrorAction.NONE)) }
            return@launch
        }
        update { it.copy(saving = true, error = null) }
        try {
            val id = if (s.editVisitId != null) {
                val editId = s.editVisitId
                // Send only changed entries (the core keeps checklist answers and topics already recorded valid).
                val changed = visit.entries.filter { it != original[it.memberId] }
                if (changed.isEmpty()) {
                    update { it.copy(saving = false, error = UiError("Tidak ada perubahan untuk disimpan", null, ErrorAction.NONE)) }
                    return@launch
                }
                onIo { changed.forEach { gw.amendVisitEntry(householdId, editId, it) } }
                editId
            } else onIo { gw.recordVisit(householdId, visit) }
            update { it.copy(saving = false, savedVisitId = id) }
        } catch (e: PosyanduException) {
            update { it.copy(saving = false, error = UiError.from(e)) }
        } catch (t: Throwable) {
            update { it.copy(saving = false, error = UiError.from(t)) }
        }
    }

    companion object {
        private fun num(x: Double?): String = x?.let { Format.decimal(it, 3) } ?: ""

        /** A recorded entry back into the form (edit mode). */
        fun form(e: VisitEntry, base: EntryForm): EntryForm {
            val m = e.measurements
            val s = e.services
            return base.copy(
                included = true,
                locked = true,
                weight = num(m.weightKg),
                lengthHeight = num(m.lengthHeightCm),
                measure = m.measure ?: base.measure,
                headCirc = num(m.headCircumferenceCm),
                muac = num(m.muacCm),
                bpSystolic = m.bpSystolicMmhg?.toString() ?: "",
                bpDiastolic = m.bpDiastolicMmhg?.toString() ?: "",
                glucose = num(m.bloodGlucoseMgDl),
                glucoseKind = m.bloodGlucoseKind ?: GlucoseKind.SEWAKTU,
                waist = num(m.waistCm),
                oedema = m.oedema == true,
                immunisations = s.immunisations.toSet(),
                vitaminA = s.vitaminA,
                vitaminACapsule = s.vitaminACapsule,
                deworming = s.deworming,
                ironTablets = s.ironTablets?.toString() ?: "",
                supplementaryFood = s.supplementaryFood,
                referral = e.referral != null,
                referralReason = e.referral?.reason ?: "",
                referralTo = e.referral?.to ?: "",
                spmNeeds = e.spmNeeds.map { SpmNeedForm(it.area, it.need) },
                answers = e.checklist,
                counselling = e.counselling,
                asiEksklusif = e.asiEksklusif,
            )
        }

        private fun dec(label: String, text: String): Double? {
            val v = Format.parseDecimal(text) ?: return null
            if (v.isNaN()) throw FormException("Data tidak valid: $label harus berupa angka (diisi: \"${text.trim()}\")")
            return v
        }

        private fun whole(label: String, text: String, max: Int): Int? {
            val t = text.trim()
            if (t.isEmpty()) return null
            return t.toIntOrNull()?.takeIf { it in 0..max }
                ?: throw FormException("Data tidak valid: $label harus berupa bilangan bulat (diisi: \"$t\")")
        }

        fun measurements(e: EntryForm): Measurements {
            val sys = whole("tekanan darah sistolik", e.bpSystolic, 65535)
            val dia = whole("tekanan darah diastolik", e.bpDiastolic, 65535)
            if ((sys == null) != (dia == null)) throw FormException("Data tidak valid: isi tekanan darah sistolik dan diastolik (${e.name})")
            val lh = dec("panjang/tinggi badan", e.lengthHeight)
            val glucose = dec("gula darah", e.glucose)
            return Measurements(
                weightKg = dec("berat badan", e.weight),
                lengthHeightCm = lh,
                measure = if (lh != null) e.measure else null,
                headCircumferenceCm = dec("lingkar kepala", e.headCirc),
                muacCm = dec("LiLA", e.muac),
                bpSystolicMmhg = sys?.toUShort(),
                bpDiastolicMmhg = dia?.toUShort(),
                bloodGlucoseMgDl = glucose,
                // Only with a reading; a reading without kind means sewaktu to the core.
                bloodGlucoseKind = if (glucose != null) e.glucoseKind else null,
                waistCm = dec("lingkar perut", e.waist),
                oedema = if (e.oedema) true else null,
            )
        }

        /** The core's adult screening of the form (`null` when not computable yet: unknown sex/date, a number not parsed). */
        fun screening(e: EntryForm, date: String): ScreeningResult? {
            val sex = e.sex ?: return null
            if (e.birthDate.isBlank() || date.isBlank()) return null
            return try {
                id.posyandu.sync.screeningPreview(sex, e.birthDate, date, measurements(e)).takeIf { it.applies }
            } catch (t: Throwable) {
                null
            }
        }

        fun entry(e: EntryForm): VisitEntry {
            if (e.referral && e.referralReason.isBlank()) throw FormException("Alasan rujukan wajib diisi (${e.name})")
            e.spmNeeds.forEach { if (it.need.isBlank()) throw FormException("Kebutuhan ${Labels.spmArea(it.area)} wajib diisi (${e.name})") }
            return VisitEntry(
                memberId = e.memberId,
                measurements = measurements(e),
                services = Services(
                    immunisations = Labels.ANTIGENS.map { it.first }.filter { it in e.immunisations } +
                        e.immunisations.filter { c -> Labels.ANTIGENS.none { it.first == c } }.sorted(),
                    vitaminA = e.vitaminA || e.vitaminACapsule != null,
                    vitaminACapsule = e.vitaminACapsule,
                    deworming = e.deworming,
                    ironTablets = whole("jumlah TTD", e.ironTablets, 65535)?.toUShort(),
                    supplementaryFood = e.supplementaryFood,
                ),
                checklist = e.answers,
                counselling = e.counselling,
                referral = if (e.referral) Referral(e.referralReason.trim(), e.referralTo.trim().ifEmpty { null }) else null,
                spmNeeds = e.spmNeeds.map { SpmNeed(it.area, it.need) },
                // Only where the core asks it (an answer for an older child is refused).
                asiEksklusif = e.asiEksklusif.takeIf { e.asiApplies },
            )
        }
    }
}
