package id.posyandu.app.logic

import id.posyandu.sync.AddedMember
import id.posyandu.sync.BirthRecord
import id.posyandu.sync.MemberStatusKind
import id.posyandu.sync.ProposedReason
import id.posyandu.sync.ReferralRecord
import id.posyandu.sync.ReferralSummary
import id.posyandu.sync.Conflict
import id.posyandu.sync.DueItem
import id.posyandu.sync.GrowthResult
import id.posyandu.sync.HomeVisitListInfo
import id.posyandu.sync.HouseholdDetail
import id.posyandu.sync.HouseholdPatch
import id.posyandu.sync.HouseholdSummary
import id.posyandu.sync.KaderIdentity
import id.posyandu.sync.Measurements
import id.posyandu.sync.MemberChecklist
import id.posyandu.sync.MemberPatch
import id.posyandu.sync.MemberSummary
import id.posyandu.sync.NewHousehold
import id.posyandu.sync.NewMember
import id.posyandu.sync.NewPregnancy
import id.posyandu.sync.NewVisit
import id.posyandu.sync.PosyanduInfo
import id.posyandu.sync.RelayConfig
import id.posyandu.sync.ServiceRegisterInfo
import id.posyandu.sync.SyncPhase
import id.posyandu.sync.SyncReport
import id.posyandu.sync.UndanganList
import id.posyandu.sync.VisitEntry

/**
 * What the view models need from the Rust core. Records are the generated uniffi
 * data classes (plain immutable values); only the store object is hidden behind
 * this interface, so screens can be driven by the real bindings on the JVM (tests)
 * or by a fake in UI previews.
 *
 * Every method BLOCKS (SQLite, network for [syncNow]): view models call them on
 * their IO dispatcher, never on the main thread. Failures are the generated
 * `PosyanduException.*` subclasses whose messages are already Bahasa Indonesia.
 */
interface PosyanduGateway {
    fun identity(): KaderIdentity
    /** Today in WIB, `YYYY-MM-DD`. */
    fun today(): String

    fun listHouseholds(rt: String?): List<HouseholdSummary>
    fun searchMembers(query: String, limit: Int): List<MemberSummary>
    fun household(householdId: String): HouseholdDetail
    fun createHousehold(household: NewHousehold): String
    fun updateHousehold(householdId: String, patch: HouseholdPatch)
    fun addMember(householdId: String, member: NewMember): String
    /** Adds a member; the result carries the core's NIK warnings (the member is saved anyway). */
    fun addMemberWithWarnings(householdId: String, member: NewMember): AddedMember = AddedMember(addMember(householdId, member), emptyList())
    fun updateMember(householdId: String, memberId: String, patch: MemberPatch)
    fun removeMember(householdId: String, memberId: String)

    /**
     * The 10-digit kode wilayah the Posyandu's households use (the last one created
     * through this gateway, else the most common one in the store), `null` when the
     * store has no household yet. Default for the "Tambah rumah tangga" form.
     */
    fun lastKodeWilayah(): String? = null

    /** `visitId`: the recorded visit being corrected (its weighing is replaced, not added to). */
    fun assessMemberGrowth(householdId: String, memberId: String, measuredOn: String, m: Measurements, visitId: String? = null): GrowthResult
    /** The core's ILP home-visit checklist for this member at a visit on [date] (their stage, age and sex then). */
    fun checklistFor(householdId: String, memberId: String, date: String): MemberChecklist
    fun recordVisit(householdId: String, visit: NewVisit): String
    /** Corrects (or adds) one member's entry of a recorded visit; the date and kind stay. */
    fun amendVisitEntry(householdId: String, visitId: String, entry: VisitEntry)
    /** Tombstones a visit (syncs as a deletion; it disappears from the detail). */
    fun deleteVisit(householdId: String, visitId: String)
    fun addPregnancy(householdId: String, pregnancy: NewPregnancy): String
    fun endPregnancy(householdId: String, pregnancyId: String, ended: String)
    fun dueVisits(): List<DueItem>

    // ILP service cycle (issue 12): referrals, births, member status.
    /** The reasons the core's rulebook proposes to refer this member today (minus those of an open referral). */
    fun proposedReferral(householdId: String, memberId: String): List<ProposedReason>
    /** Raises a referral (status dirujuk); returns its id. */
    fun raiseReferral(householdId: String, memberId: String, reasons: List<String>, note: String?, visitId: String?): String
    /** The Posyandu's referrals with the core's status and the requested follow-up date, newest first. */
    fun referrals(openOnly: Boolean): List<ReferralSummary>
    /** A household's referrals with every step. */
    fun householdReferrals(householdId: String): List<ReferralRecord>
    /** Records that a member moved away or died on [date] (`YYYY-MM-DD`). */
    fun setMemberStatus(householdId: String, memberId: String, status: MemberStatusKind, date: String)
    /** Records a pregnancy's outcome and registers its newborn(s) in one step; returns their ids. */
    fun recordBirth(householdId: String, birth: BirthRecord): List<String>

    fun conflicts(householdId: String): List<Conflict>
    fun resolveConflict(householdId: String, path: String, valueJson: String)

    fun relay(): RelayConfig?
    fun setRelay(url: String, token: String)
    /** Unix seconds, `null` if never synced. */
    fun lastSyncAt(): Long?
    fun pendingChanges(): Long
    fun syncNow(onProgress: (SyncProgress) -> Unit): SyncReport

    // The Posyandu document and the month's lists (issue 12, "Bulan ini"). Defaults
    // throw so fakes written before them keep compiling.
    /** Schedule, roster, area, sasaran and the next service day. */
    fun posyandu(): PosyanduInfo = throw UnsupportedOperationException("posyandu")
    /** H-1 undangan list of a service day (`null`: the next one). NotFound without a schedule. */
    fun undangan(date: String?): UndanganList = throw UnsupportedOperationException("undangan")
    fun serviceRegister(date: String): ServiceRegisterInfo = throw UnsupportedOperationException("serviceRegister")
    /** Home-visit list after a session (`null`: the latest one). NotFound without a schedule. */
    fun homeVisitList(date: String?): HomeVisitListInfo = throw UnsupportedOperationException("homeVisitList")
    fun setServiceDate(date: String, place: String?, note: String?, cancelled: Boolean): Unit =
        throw UnsupportedOperationException("setServiceDate")
}

/** One progress callback of a running sync. */
data class SyncProgress(
    val phase: SyncPhase,
    val docsDone: Long,
    val docsTotal: Long,
    val bytesDone: Long,
    val bytesTotal: Long,
) {
    /** 0..1, or `null` when the total is not known yet (indeterminate bar). */
    val fraction: Float?
        get() = when {
            phase == SyncPhase.DONE -> 1f
            docsTotal > 0 -> (docsDone.toFloat() / docsTotal).coerceIn(0f, 1f)
            bytesTotal > 0 -> (bytesDone.toFloat() / bytesTotal).coerceIn(0f, 1f)
            else -> null
        }
}
