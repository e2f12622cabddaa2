package id.posyandu.app.logic

import id.posyandu.sync.DueReasonCode
import id.posyandu.sync.ReferralRecord
import id.posyandu.sync.referralActionLabel
import id.posyandu.sync.referralReasons
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.launch

/** A member the referral can be for. */
data class MemberChoice(val id: String, val name: String, val detail: String)

/** One reason of the catalogue (the core's), marked when the rulebook proposes it for this member now. */
data class ReasonChoice(val code: String, val label: String, val proposed: Boolean, val selected: Boolean)

/** A referral of the household as the list shows it; status and follow-up come from the core. */
data class ReferralRow(
    val id: String,
    val memberId: String,
    val memberName: String,
    /** "Dirujuk 3 November 2026". */
    val dateText: String,
    /** The core's label of the derived status ("Diterima bidan", …). */
    val statusLabel: String,
    val closed: Boolean,
    val reasonsText: String,
    /** Every step, oldest first: "3 November 2026 09.30 WIB · Dirujuk · kader K-1". */
    val steps: List<String>,
    /** "Bidan meminta kunjungan rumah paling lambat …" when she asked for one. */
    val followUpText: String?,
)

data class ReferralsState(
    val loading: Boolean = true,
    val householdTitle: String = "",
    val members: List<MemberChoice> = emptyList(),
    val memberId: String? = null,
    /** The catalogue, proposed reasons first (pre-selected: the kader confirms or clears them). */
    val reasons: List<ReasonChoice> = emptyList(),
    /** "Diusulkan: …" from the rulebook for the chosen member, `null` when it proposes nothing. */
    val proposalText: String? = null,
    val note: String = "",
    /** The triggering visit, when opened from one. */
    val visitId: String? = null,
    val referrals: List<ReferralRow> = emptyList(),
    /** Home visits a bidan asked for that are still due (the core's due list), e.g. "Nur: Kunjungan rumah diminta bidan …". */
    val followUpsDue: List<String> = emptyList(),
    val saving: Boolean = false,
    val error: UiError? = null,
    val savedReferralId: String? = null,
) {
    val selectedCodes: List<String> get() = reasons.filter { it.selected }.map { it.code }
    val canSave: Boolean get() = !loading && !saving && memberId != null && selectedCodes.isNotEmpty()
}

/**
 * "Rujukan": the household's referrals with the status the core derives from their
 * steps (dirujuk → diterima → ditangani → rujuk balik / selesai) and the follow-up
 * visit a bidan asked for; and raising a new one, with the reasons the core's rulebook
 * proposes for the member (2T, BGM, KEK, hipertensi, …) pre-selected.
 */
class ReferralsViewModel(
    private val gw: PosyanduGateway,
    private val householdId: String,
    scope: CoroutineScope,
    io: CoroutineDispatcher = Dispatchers.IO,
    private val preselectMemberId: String? = null,
    visitId: String? = null,
) : LogicViewModel<ReferralsState>(ReferralsState(visitId = visitId), scope, io) {

    fun load(): Job = scope.launch {
        try {
            val h = onIo { gw.household(householdId) }
            val members = h.members.map { MemberChoice(it.id, it.name, "${it.stageLabel} · ${Format.age(it.ageMonths)}") }
            val rows = onIo { rows(h.members.associate { it.id to it.name }) }
            val chosen = current.memberId ?: preselectMemberId?.takeIf { id -> members.any { it.id == id } }
            update {
                it.copy(
                    loading = false,
                    householdTitle = HouseholdDetailViewModel.toState(h, 0).title,
                    members = members,
                    referrals = rows.first,
                    followUpsDue = rows.second,
                )
            }
            if (chosen != null) selectMember(chosen).join()
        } catch (t: Throwable) {
            update { it.copy(loading = false, error = UiError.from(t)) }
        }
    }

    /** Chooses the member and asks the core which reasons it proposes for them today. */
    fun selectMember(memberId: String): Job = scope.launch {
        update { it.copy(memberId = memberId, error = null, savedReferralId = null) }
        try {
            val proposed = onIo { gw.proposedReferral(householdId, memberId) }
            val codes = proposed.map { it.code }.toSet()
            val catalogue = referralReasons()
            val choices = catalogue.filter { it.code in codes }.map { ReasonChoice(it.code, it.label, true, true) } +
                catalogue.filter { it.code !in codes }.map { ReasonChoice(it.code, it.label, false, false) }
            update {
                it.copy(
                    reasons = choices,
                    proposalText = if (proposed.isEmpty()) null else "Diusulkan: " + proposed.joinToString(", ") { p -> p.label },
                )
            }
        } catch (t: Throwable) {
            update { it.copy(error = UiError.from(t)) }
        }
    }

    fun toggleReason(code: String) = update { s ->
        s.copy(reasons = s.reasons.map { if (it.code == code) it.copy(selected = !it.selected) else it }, error = null)
    }

    fun setNote(note: String) = update { it.copy(note = note, error = null) }

    fun save(): Job = scope.launch {
        val s = current
        if (!s.canSave) return@launch
        val member = s.memberId ?: return@launch
        update { it.copy(saving = true, error = null) }
        try {
            val id = onIo { gw.raiseReferral(householdId, member, s.selectedCodes, Format.optional(s.note), s.visitId) }
            val names = onIo { gw.household(householdId).members.associate { it.id to it.name } }
            val rows = onIo { rows(names) }
            update { it.copy(saving = false, savedReferralId = id, note = "", referrals = rows.first, followUpsDue = rows.second) }
            // The proposal changes: reasons of an open referral are not proposed again.
            selectMember(member).join()
            update { it.copy(savedReferralId = id) }
        } catch (t: Throwable) {
            update { it.copy(saving = false, error = UiError.from(t)) }
        }
    }

    /** The household's referrals (newest first) and its due follow-up visits. Blocking. */
    private fun rows(names: Map<String, String>): Pair<List<ReferralRow>, List<String>> {
        val followUp = gw.referrals(false).filter { it.householdId == householdId }.associate { it.id to it.followUpBy }
        val labels = referralReasons().associate { it.code to it.label }
        val rows = gw.householdReferrals(householdId).sortedWith(compareByDescending<ReferralRecord> { it.date }.thenBy { it.id })
            .map { r -> row(r, names[r.memberId] ?: "-", labels, followUp[r.id]) }
        val due = gw.dueVisits().filter { it.householdId == householdId }.flatMap { d ->
            d.reasons.filter { it.code == DueReasonCode.FOLLOW_UP_VISIT }.map { "${d.name}: ${it.label}" }
        }
        return rows to due
    }

    companion object {
        fun row(r: ReferralRecord, memberName: String, labels: Map<String, String>, followUpBy: String?) = ReferralRow(
            id = r.id,
            memberId = r.memberId,
            memberName = memberName,
            dateText = "Dirujuk ${Format.date(r.date)}",
            statusLabel = r.statusLabel,
            closed = r.closed,
            reasonsText = r.reasons.joinToString(", ") { labels[it] ?: it },
            steps = r.steps.sortedBy { it.at }.map { s ->
                buildString {
                    append(Format.dateTime(s.at)).append(" · ").append(s.statusLabel)
                    append(" · ").append(if (s.role == "bidan") "bidan" else "kader").append(' ').append(s.by)
                    s.action?.let { append(" · ").append(referralActionLabel(it)) }
                    s.note?.let { append(" · \"").append(it).append('"') }
                }
            },
            followUpText = followUpBy?.let { "Bidan meminta kunjungan rumah paling lambat ${Format.date(it)}" },
        )
    }
}
