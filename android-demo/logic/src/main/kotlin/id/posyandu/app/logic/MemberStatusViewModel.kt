package id.posyandu.app.logic

import id.posyandu.sync.MemberStatusKind
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.launch

data class MemberStatusState(
    val loading: Boolean = true,
    val householdTitle: String = "",
    val members: List<MemberChoice> = emptyList(),
    val memberId: String? = null,
    val status: MemberStatusKind? = null,
    /** Day of the move or death, `YYYY-MM-DD` (default today; the core refuses a future day). */
    val date: String = "",
    val today: String = "",
    val saving: Boolean = false,
    val error: UiError? = null,
    val saved: Boolean = false,
) {
    val canSave: Boolean get() = !loading && !saving && !saved && memberId != null && status != null && date.isNotBlank()

    val savedText: String?
        get() = if (!saved) null else {
            val name = members.firstOrNull { it.id == memberId }?.name ?: "Anggota"
            "$name tercatat ${status?.let { MemberStatusViewModel.label(it).lowercase() }} sejak ${Format.date(date)}; " +
                "tidak muncul lagi di daftar kunjungan"
        }
}

/**
 * "Pindah / meninggal": a member moved away or died on a day; from that day the core
 * leaves them out of the due list, search and life-stage lists (and counts them in the
 * monthly report through the month of the event).
 */
class MemberStatusViewModel(
    private val gw: PosyanduGateway,
    private val householdId: String,
    scope: CoroutineScope,
    io: CoroutineDispatcher = Dispatchers.IO,
    private val preselectMemberId: String? = null,
) : LogicViewModel<MemberStatusState>(MemberStatusState(), scope, io) {

    fun load(): Job = scope.launch {
        try {
            val (h, today) = onIo { gw.household(householdId) to gw.today() }
            val members = h.members.map { MemberChoice(it.id, it.name, "${it.stageLabel} · ${Format.age(it.ageMonths)}") }
            update {
                it.copy(
                    loading = false,
                    householdTitle = HouseholdDetailViewModel.toState(h, 0).title,
                    members = members,
                    today = today,
                    date = it.date.ifEmpty { today },
                    memberId = it.memberId ?: preselectMemberId?.takeIf { id -> members.any { m -> m.id == id } },
                )
            }
        } catch (t: Throwable) {
            update { it.copy(loading = false, error = UiError.from(t)) }
        }
    }

    fun edit(change: (MemberStatusState) -> MemberStatusState) = update { change(it).copy(error = null) }

    fun save(): Job = scope.launch {
        val s = current
        if (!s.canSave) return@launch
        val member = s.memberId ?: return@launch
        val status = s.status ?: return@launch
        update { it.copy(saving = true, error = null) }
        try {
            onIo { gw.setMemberStatus(householdId, member, status, s.date.trim()) }
            update { it.copy(saving = false, saved = true) }
        } catch (t: Throwable) {
            update { it.copy(saving = false, error = UiError.from(t)) }
        }
    }

    companion object {
        fun label(k: MemberStatusKind) = when (k) {
            MemberStatusKind.PINDAH -> "Pindah"
            MemberStatusKind.MENINGGAL -> "Meninggal"
        }
    }
}
