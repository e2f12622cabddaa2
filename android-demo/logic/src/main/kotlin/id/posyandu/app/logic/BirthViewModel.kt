package id.posyandu.app.logic

import id.posyandu.sync.BirthAttendant
import id.posyandu.sync.BirthPlace
import id.posyandu.sync.BirthRecord
import id.posyandu.sync.NewBorn
import id.posyandu.sync.OutcomeKind
import id.posyandu.sync.Sex
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.launch

/** A pregnancy whose outcome may be recorded. */
data class PregnancyChoice(val id: String, val motherName: String, val detail: String)

/** One baby of a live birth, as typed (numbers with comma or dot). */
data class BabyForm(val name: String = "", val sex: Sex? = null, val weight: String = "", val length: String = "")

data class BirthState(
    val loading: Boolean = true,
    val householdTitle: String = "",
    val pregnancies: List<PregnancyChoice> = emptyList(),
    val pregnancyId: String? = null,
    /** Day of the birth or loss, `YYYY-MM-DD` (default today). */
    val date: String = "",
    val outcome: OutcomeKind? = null,
    val place: BirthPlace? = null,
    val attendant: BirthAttendant? = null,
    /** Shown for a live birth only; twins: add a second baby. */
    val babies: List<BabyForm> = listOf(BabyForm()),
    val today: String = "",
    val saving: Boolean = false,
    val error: UiError? = null,
    /** The newborns registered (birth order), after saving. */
    val newbornIds: List<String>? = null,
) {
    val liveBirth: Boolean get() = outcome == OutcomeKind.LAHIR_HIDUP
    val canSave: Boolean get() = !loading && !saving && newbornIds == null && pregnancyId != null && outcome != null
    val savedText: String?
        get() = newbornIds?.let { ids ->
            if (ids.isEmpty()) "Hasil kehamilan tersimpan" else "Hasil persalinan tersimpan; ${ids.size} bayi terdaftar sebagai anggota keluarga"
        }
}

/**
 * "Catat persalinan": the outcome of a pregnancy (lahir hidup / lahir mati /
 * keguguran, place, attendant) and, for a live birth, the newborn(s) registered as
 * members in the same step (the core's `recordBirth`: all or nothing, nifas follows).
 */
class BirthViewModel(
    private val gw: PosyanduGateway,
    private val householdId: String,
    scope: CoroutineScope,
    io: CoroutineDispatcher = Dispatchers.IO,
    private val preselectPregnancyId: String? = null,
) : LogicViewModel<BirthState>(BirthState(), scope, io) {

    fun load(): Job = scope.launch {
        try {
            val (h, today) = onIo { gw.household(householdId) to gw.today() }
            val names = h.members.associate { it.id to it.name }
            // Episodes without a recorded end (the core refuses a second outcome anyway).
            val choices = h.pregnancies.filter { it.ended == null }.map {
                PregnancyChoice(it.id, names[it.memberId] ?: "-", "HPHT ${Format.date(it.lmp)} · HPL ${Format.date(it.dueDate)} · ${it.stateLabel}")
            }
            update {
                it.copy(
                    loading = false,
                    householdTitle = HouseholdDetailViewModel.toState(h, 0).title,
                    pregnancies = choices,
                    today = today,
                    date = it.date.ifEmpty { today },
                    pregnancyId = it.pregnancyId ?: preselectPregnancyId?.takeIf { id -> choices.any { c -> c.id == id } }
                        ?: choices.singleOrNull()?.id,
                )
            }
        } catch (t: Throwable) {
            update { it.copy(loading = false, error = UiError.from(t)) }
        }
    }

    fun edit(change: (BirthState) -> BirthState) = update { change(it).copy(error = null) }

    fun editBaby(index: Int, change: (BabyForm) -> BabyForm) = edit { s ->
        s.copy(babies = s.babies.mapIndexed { i, b -> if (i == index) change(b) else b })
    }

    fun addBaby() = edit { it.copy(babies = it.babies + BabyForm()) }

    fun removeBaby(index: Int) = edit { s -> if (s.babies.size <= 1) s else s.copy(babies = s.babies.filterIndexed { i, _ -> i != index }) }

    fun save(): Job = scope.launch {
        val s = current
        if (!s.canSave) return@launch
        val input = try { toInput(s) } catch (f: FormException) {
            update { it.copy(error = UiError(f.message ?: "Data tidak valid", null, ErrorAction.NONE)) }
            return@launch
        }
        update { it.copy(saving = true, error = null) }
        try {
            val ids = onIo { gw.recordBirth(householdId, input) }
            update { it.copy(saving = false, newbornIds = ids) }
        } catch (t: Throwable) {
            update { it.copy(saving = false, error = UiError.from(t)) }
        }
    }

    companion object {
        /** The core's input; only what never reaches the core is checked here (choices made, numbers parsed). */
        fun toInput(s: BirthState): BirthRecord {
            val pregnancy = s.pregnancyId ?: throw FormException("Pilih kehamilan yang berakhir")
            val outcome = s.outcome ?: throw FormException("Pilih hasil kehamilan")
            if (s.date.isBlank()) throw FormException("Tanggal persalinan wajib diisi")
            val babies = if (outcome != OutcomeKind.LAHIR_HIDUP) emptyList() else s.babies.mapIndexed { i, b ->
                val n = if (s.babies.size > 1) " ke-${i + 1}" else ""
                NewBorn(
                    name = b.name.trim(),
                    sex = b.sex ?: throw FormException("Pilih jenis kelamin bayi$n"),
                    weightKg = dec("berat lahir bayi$n", b.weight),
                    lengthCm = dec("panjang lahir bayi$n", b.length),
                    kiaBook = null,
                )
            }
            return BirthRecord(
                pregnancyId = pregnancy,
                date = s.date.trim(),
                outcome = outcome,
                place = s.place,
                attendant = s.attendant,
                newborns = babies,
            )
        }

        private fun dec(label: String, text: String): Double? {
            val v = Format.parseDecimal(text) ?: return null
            if (v.isNaN()) throw FormException("Data tidak valid: $label harus berupa angka (diisi: \"${text.trim()}\")")
            return v
        }
    }
}
