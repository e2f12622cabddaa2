package id.posyandu.app.logic

import id.posyandu.sync.MotherNik
import id.posyandu.sync.NewMember
import id.posyandu.sync.Relation
import id.posyandu.sync.Sex
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.launch

/** How the new member is identified. */
enum class IdMode {
    /** Own NIK (16 digits; may be left empty when not known yet). */
    NIK,
    /** Newborn without NIK: mother's NIK + birth order. */
    MOTHER_NIK,
}

/** A woman of the household the kader can pick as the newborn's mother. */
data class MotherOption(val memberId: String, val name: String, val nik: String?, val nextBirthOrder: Int) {
    val label: String get() = name + (nik?.let { " · NIK ${Format.maskNik(it)}" } ?: " · belum ber-NIK")
}

enum class MemberField { NAME, BIRTH_DATE, SEX, RELATION, NIK, MOTHER_NIK, BIRTH_ORDER, BPJS }

data class AddMemberState(
    val loading: Boolean = true,
    val householdTitle: String = "",
    val name: String = "",
    /** `YYYY-MM-DD` (the date picker writes it). */
    val birthDate: String = "",
    val sex: Sex? = null,
    val relation: Relation? = null,
    val idMode: IdMode = IdMode.NIK,
    val nik: String = "",
    val motherMemberId: String? = null,
    val motherNik: String = "",
    val birthOrder: String = "1",
    val bpjs: String = "",
    /** "Punya Buku KIA/KMS": Ya / Tidak / `null` = belum ditanya (K of SKDN counts only "Ya"). */
    val kiaBook: Boolean? = null,
    val mothers: List<MotherOption> = emptyList(),
    /** Latest allowed birth date (today), for the date picker. */
    val today: String = "",
    val saving: Boolean = false,
    val error: UiError? = null,
    val errorField: MemberField? = null,
    val savedMemberId: String? = null,
    /**
     * The core's NIK warnings ("NIK tidak cocok: …") for what is typed, shown under the
     * NIK field while typing; they do not block saving. After a save: the warnings the
     * core returned for the saved member (the screen shows them before leaving).
     */
    val nikWarnings: List<String> = emptyList(),
) {
    val canSave: Boolean get() = !loading && !saving && savedMemberId == null
}

/**
 * "Tambah anggota": name, birth date, sex, relation, NIK — or for a newborn
 * without NIK the mother's NIK (pre-filled by picking her among the household's
 * women) and birth order — BPJS and Buku KIA/KMS ownership. The core checks everything
 * (NIK structure, 13-digit BPJS, …); its Indonesian message is shown and nothing is
 * saved. A NIK whose birth date or sex differs from the entered ones is not an error:
 * the core's warning is shown while typing and after saving, and the member is saved.
 */
class AddMemberViewModel(
    private val gw: PosyanduGateway,
    private val householdId: String,
    scope: CoroutineScope,
    io: CoroutineDispatcher = Dispatchers.IO,
) : LogicViewModel<AddMemberState>(AddMemberState(), scope, io) {

    fun load(): Job = scope.launch {
        try {
            val (h, today) = onIo { gw.household(householdId) to gw.today() }
            val detail = HouseholdDetailViewModel.toState(h, 0)
            val mothers = h.members.filter { id.posyandu.sync.mayRecordPregnancy(it.sex, it.ageMonths) }.map { m ->
                val born = m.nik?.let { nik -> h.members.mapNotNull { c -> c.motherNik?.takeIf { it.motherNik == nik }?.birthOrder?.toInt() } }.orEmpty()
                MotherOption(m.id, m.name, m.nik, (born.maxOrNull() ?: 0) + 1)
            }
            update {
                it.copy(
                    loading = false,
                    householdTitle = detail.title,
                    today = today,
                    mothers = mothers,
                    // The first member of a new household is usually the head.
                    relation = it.relation ?: if (h.members.none { m -> m.relation == Relation.KEPALA_KELUARGA }) Relation.KEPALA_KELUARGA else null,
                )
            }
        } catch (t: Throwable) {
            update { it.copy(loading = false, error = UiError.from(t)) }
        }
    }

    fun edit(change: (AddMemberState) -> AddMemberState) = update {
        val n = change(it).copy(error = null, errorField = null)
        n.copy(nikWarnings = liveNikWarnings(n))
    }

    fun setIdMode(mode: IdMode) = edit {
        // A newborn registered by the mother's NIK is normally a child of the family.
        if (mode == IdMode.MOTHER_NIK && it.relation == null) it.copy(idMode = mode, relation = Relation.ANAK) else it.copy(idMode = mode)
    }

    /** Picks the mother among the household's women: pre-fills her NIK and the next birth order. */
    fun pickMother(memberId: String?) = edit { s ->
        val m = s.mothers.firstOrNull { it.memberId == memberId }
        if (m == null) s.copy(motherMemberId = null)
        else s.copy(motherMemberId = m.memberId, motherNik = m.nik ?: s.motherNik, birthOrder = m.nextBirthOrder.toString())
    }

    fun save(): Job = scope.launch {
        val s = current
        if (!s.canSave) return@launch
        val member = try { toInput(s) } catch (f: MemberFormException) {
            update { it.copy(error = UiError(f.message ?: "Data tidak valid", null, ErrorAction.NONE), errorField = f.field) }
            return@launch
        }
        update { it.copy(saving = true, error = null, errorField = null) }
        try {
            val added = onIo { gw.addMemberWithWarnings(householdId, member) }
            update { it.copy(saving = false, savedMemberId = added.id, nikWarnings = added.warnings.map { w -> w.message }) }
        } catch (t: Throwable) {
            val e = UiError.from(t)
            update { it.copy(saving = false, error = e, errorField = fieldOf(e.message, s.idMode)) }
        }
    }

    class MemberFormException(message: String, val field: MemberField) : Exception(message)

    companion object {
        /** The form -> the core's input; only what the core cannot know is checked here (unchosen sex/relation, birth order not a number). */
        fun toInput(s: AddMemberState): NewMember {
            val sex = s.sex ?: throw MemberFormException("Pilih jenis kelamin", MemberField.SEX)
            if (s.birthDate.isBlank()) throw MemberFormException("Tanggal lahir wajib diisi", MemberField.BIRTH_DATE)
            val relation = s.relation ?: throw MemberFormException("Pilih hubungan dengan kepala keluarga", MemberField.RELATION)
            val mother = if (s.idMode == IdMode.MOTHER_NIK) {
                val nik = Format.compactNumber(s.motherNik.trim())
                if (nik.isEmpty()) throw MemberFormException("NIK ibu wajib diisi untuk bayi yang belum ber-NIK", MemberField.MOTHER_NIK)
                val order = s.birthOrder.trim().toIntOrNull()?.takeIf { it in 1..255 }
                    ?: throw MemberFormException("Anak ke- harus berupa bilangan bulat (diisi: \"${s.birthOrder.trim()}\")", MemberField.BIRTH_ORDER)
                MotherNik(nik, order.toUByte())
            } else null
            return NewMember(
                name = s.name.trim(),
                birthDate = s.birthDate.trim(),
                sex = sex,
                relation = relation,
                nik = if (s.idMode == IdMode.NIK) Format.optional(Format.compactNumber(s.nik)) else null,
                motherNik = mother,
                bpjsNumber = Format.optional(Format.compactNumber(s.bpjs)),
                kiaBook = s.kiaBook,
            )
        }

        /** The core's warnings for the NIK (or mother's NIK) being typed; empty until both NIK and the other fields are usable. */
        fun liveNikWarnings(s: AddMemberState): List<String> = try {
            when (s.idMode) {
                IdMode.NIK -> {
                    val nik = Format.compactNumber(s.nik)
                    val sex = s.sex
                    if (nik.length != 16 || sex == null || s.birthDate.isBlank()) emptyList()
                    else id.posyandu.sync.nikWarnings(nik, s.birthDate.trim(), sex).map { it.message }
                }
                // A mother's NIK is checked for sex only (it must be a woman's): any date, female.
                IdMode.MOTHER_NIK -> emptyList()
            }
        } catch (t: Throwable) {
            emptyList()
        }

        fun fieldOf(message: String, mode: IdMode): MemberField? = when {
            message.startsWith("Nama") -> MemberField.NAME
            message.startsWith("Tanggal lahir") || message.startsWith("Tahun lahir") -> MemberField.BIRTH_DATE
            message.startsWith("Nomor BPJS") -> MemberField.BPJS
            message.startsWith("Urutan kelahiran") -> MemberField.BIRTH_ORDER
            message.startsWith("NIK") -> if (mode == IdMode.MOTHER_NIK) MemberField.MOTHER_NIK else MemberField.NIK
            else -> null
        }
    }
}
