package id.posyandu.app.logic

import id.posyandu.sync.SpmNeedDef
import id.posyandu.sync.SpmRequestInfo
import id.posyandu.sync.SpmRequestSummary

/**
 * SPM needs handed to the desa (issue 13): what [SpmViewModel] needs from the core.
 * Kept apart from [PosyanduGateway] so the feature adds, and changes, nothing there.
 * Every method BLOCKS; failures are `PosyanduException.*` with Indonesian messages.
 */
interface SpmGateway {
    /** The catalogue of coded needs (area, person or household, label, source). */
    fun spmNeeds(): List<SpmNeedDef>
    /** Raises a need (or adds the note to the same need already raised); returns its key. */
    fun raiseSpmNeed(householdId: String, memberId: String?, need: String, note: String): String
    fun addSpmNote(householdId: String, key: String, note: String)
    fun isKoordinator(): Boolean
    fun setKoordinator(on: Boolean)
    fun verifySpmRequest(householdId: String, key: String)
    fun forwardSpmRequest(householdId: String, key: String)
    fun spmRequests(openOnly: Boolean): List<SpmRequestSummary>
    fun spmRequest(householdId: String, key: String): SpmRequestInfo
}
