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
import id.posyandu.sync.HouseholdDetail
import id.posyandu.sync.HouseholdPatch
import id.posyandu.sync.HouseholdSummary
import id.posyandu.sync.KaderIdentity
import id.posyandu.sync.KaderStore
import id.posyandu.sync.KeyProvider
import id.posyandu.sync.Measurements
import id.posyandu.sync.MemberChecklist
import id.posyandu.sync.MemberPatch
import id.posyandu.sync.MemberSummary
import id.posyandu.sync.NewHousehold
import id.posyandu.sync.NewMember
import id.posyandu.sync.NewPregnancy
import id.posyandu.sync.NewVisit
import id.posyandu.sync.RelayConfig
import id.posyandu.sync.SpmNeedDef
import id.posyandu.sync.SpmRequestInfo
import id.posyandu.sync.SpmRequestSummary
import id.posyandu.sync.SyncPhase
import id.posyandu.sync.SyncProgressListener
import id.posyandu.sync.SyncReport
import id.posyandu.sync.VisitEntry
import java.io.File

/**
 * [PosyanduGateway] over the generated uniffi bindings. One instance per process
 * (the Rust store is `Send + Sync`: the UI and the WorkManager worker share it).
 */
class BindingsGateway(private val store: KaderStore) : PosyanduGateway, SpmGateway, AutoCloseable {

    companion object {
        /** File name of the store inside the app-private directory (`context.filesDir`). */
        const val DB_FILE = "posyandu.db"

        fun storeFile(dir: File): File = File(dir, DB_FILE)

        /** True once [create] has run on this phone (the identity is stored in the file). */
        fun exists(dir: File): Boolean = storeFile(dir).exists()

        /**
         * First start: creates the store for this device/kader/Posyandu (from the admin's
         * registration), encrypted with [keys]' database key (on Android: `AndroidKeyProvider`).
         */
        fun create(dir: File, deviceId: String, kaderId: String, posyanduId: String, keys: KeyProvider): BindingsGateway {
            dir.mkdirs()
            return BindingsGateway(KaderStore.open(storeFile(dir).path, deviceId.trim(), kaderId.trim(), posyanduId.trim(), keys))
        }

        /** Later starts and the background worker: identity read from the file, key from [keys]. */
        fun openExisting(dir: File, keys: KeyProvider): BindingsGateway =
            BindingsGateway(KaderStore.openExisting(storeFile(dir).path, keys))
    }

    override fun identity(): KaderIdentity = store.identity()
    override fun today(): String = store.today()
    override fun listHouseholds(rt: String?): List<HouseholdSummary> = store.listHouseholds(rt)
    override fun searchMembers(query: String, limit: Int): List<MemberSummary> =
        store.searchMembers(query, limit.coerceIn(1, 500).toUInt())
    override fun household(householdId: String): HouseholdDetail = store.household(householdId)
    override fun createHousehold(household: NewHousehold): String =
        store.createHousehold(household).also { lastKode = household.address.kodeWilayah }
    override fun updateHousehold(householdId: String, patch: HouseholdPatch) {
        store.updateHousehold(householdId, patch)
        patch.address?.let { lastKode = it.kodeWilayah }
    }
    override fun addMember(householdId: String, member: NewMember): String = store.addMember(householdId, member)
    override fun addMemberWithWarnings(householdId: String, member: NewMember): AddedMember = store.addMemberWithWarnings(householdId, member)
    override fun updateMember(householdId: String, memberId: String, patch: MemberPatch) =
        store.updateMember(householdId, memberId, patch)
    override fun removeMember(householdId: String, memberId: String) = store.removeMember(householdId, memberId)

    /** Last kode wilayah written in this process; else the most common among (up to 50) stored households. */
    @Volatile private var lastKode: String? = null

    override fun lastKodeWilayah(): String? = lastKode ?: store.listHouseholds(null).take(50)
        .mapNotNull { runCatching { store.household(it.id).address.kodeWilayah }.getOrNull() }
        .groupingBy { it }.eachCount().maxByOrNull { it.value }?.key
    override fun assessMemberGrowth(householdId: String, memberId: String, measuredOn: String, m: Measurements, visitId: String?): GrowthResult =
        store.assessMemberGrowth(householdId, memberId, measuredOn, m, visitId)
    override fun checklistFor(householdId: String, memberId: String, date: String): MemberChecklist =
        store.checklistFor(householdId, memberId, date)
    override fun recordVisit(householdId: String, visit: NewVisit): String = store.recordVisit(householdId, visit)
    override fun amendVisitEntry(householdId: String, visitId: String, entry: VisitEntry) =
        store.amendVisitEntry(householdId, visitId, entry)
    override fun deleteVisit(householdId: String, visitId: String) = store.deleteVisit(householdId, visitId)
    override fun addPregnancy(householdId: String, pregnancy: NewPregnancy): String = store.addPregnancy(householdId, pregnancy)
    override fun endPregnancy(householdId: String, pregnancyId: String, ended: String) =
        store.endPregnancy(householdId, pregnancyId, ended)
    override fun dueVisits(): List<DueItem> = store.dueVisits()
    override fun posyandu(): id.posyandu.sync.PosyanduInfo = store.posyandu()
    override fun undangan(date: String?): id.posyandu.sync.UndanganList = store.undangan(date)
    override fun serviceRegister(date: String): id.posyandu.sync.ServiceRegisterInfo = store.serviceRegister(date)
    override fun homeVisitList(date: String?): id.posyandu.sync.HomeVisitListInfo = store.homeVisitList(date)
    override fun setServiceDate(date: String, place: String?, note: String?, cancelled: Boolean) =
        store.setServiceDate(date, place, note, cancelled)
    override fun proposedReferral(householdId: String, memberId: String): List<ProposedReason> =
        store.proposedReferral(householdId, memberId)
    override fun raiseReferral(householdId: String, memberId: String, reasons: List<String>, note: String?, visitId: String?): String =
        store.raiseReferral(householdId, memberId, reasons, note, visitId)
    override fun referrals(openOnly: Boolean): List<ReferralSummary> = store.referrals(openOnly)
    override fun householdReferrals(householdId: String): List<ReferralRecord> = store.householdReferrals(householdId)
    override fun setMemberStatus(householdId: String, memberId: String, status: MemberStatusKind, date: String) =
        store.setMemberStatus(householdId, memberId, status, date)
    override fun recordBirth(householdId: String, birth: BirthRecord): List<String> = store.recordBirth(householdId, birth)
    override fun conflicts(householdId: String): List<Conflict> = store.conflicts(householdId)
    override fun resolveConflict(householdId: String, path: String, valueJson: String) =
        store.resolveConflict(householdId, path, valueJson)
    override fun relay(): RelayConfig? = store.relay()
    override fun setRelay(url: String, token: String) = store.setRelay(url, token)
    override fun lastSyncAt(): Long? = store.lastSyncAt()
    override fun pendingChanges(): Long = store.pendingChanges().toLong()

    override fun syncNow(onProgress: (SyncProgress) -> Unit): SyncReport {
        val listener = object : SyncProgressListener {
            override fun onProgress(phase: SyncPhase, docsDone: ULong, docsTotal: ULong, bytesDone: ULong, bytesTotal: ULong) {
                onProgress(SyncProgress(phase, docsDone.toLong(), docsTotal.toLong(), bytesDone.toLong(), bytesTotal.toLong()))
            }
        }
        return store.syncNow(listener)
    }

    override fun close() = store.close()

    // SPM needs handed to the desa (SpmGateway).
    override fun spmNeeds(): List<SpmNeedDef> = id.posyandu.sync.spmNeeds()
    override fun raiseSpmNeed(householdId: String, memberId: String?, need: String, note: String): String =
        store.raiseSpmNeed(householdId, memberId, need, note)
    override fun addSpmNote(householdId: String, key: String, note: String) = store.addSpmNote(householdId, key, note)
    override fun isKoordinator(): Boolean = store.isKoordinator()
    override fun setKoordinator(on: Boolean) = store.setKoordinator(on)
    override fun verifySpmRequest(householdId: String, key: String) = store.verifySpmRequest(householdId, key)
    override fun forwardSpmRequest(householdId: String, key: String) = store.forwardSpmRequest(householdId, key)
    override fun spmRequests(openOnly: Boolean): List<SpmRequestSummary> = store.spmRequests(openOnly)
    override fun spmRequest(householdId: String, key: String): SpmRequestInfo = store.spmRequest(householdId, key)
}
