@file:JvmName("IlpViewModelTests")

package id.posyandu.app.logic.ilp

import id.posyandu.app.logic.BabyForm
import id.posyandu.app.logic.BirthViewModel
import id.posyandu.app.logic.MemberStatusViewModel
import id.posyandu.app.logic.PosyanduGateway
import id.posyandu.app.logic.RecordVisitViewModel
import id.posyandu.app.logic.ReferralsViewModel
import id.posyandu.app.logic.StoreHolder
import id.posyandu.app.logic.TestRunner
import id.posyandu.app.logic.TestRunner.test
import id.posyandu.app.logic.testKeys
import id.posyandu.sync.Address
import id.posyandu.sync.BirthAttendant
import id.posyandu.sync.BirthPlace
import id.posyandu.sync.MemberStatusKind
import id.posyandu.sync.MotherNik
import id.posyandu.sync.NewHousehold
import id.posyandu.sync.NewMember
import id.posyandu.sync.NewPregnancy
import id.posyandu.sync.NewVisit
import id.posyandu.sync.OutcomeKind
import id.posyandu.sync.ReferralRecord
import id.posyandu.sync.ReferralStep
import id.posyandu.sync.Relation
import id.posyandu.sync.Sex
import id.posyandu.sync.SpmAttributes
import id.posyandu.sync.VisitEntry
import id.posyandu.sync.VisitKind
import id.posyandu.sync.Measurements
import id.posyandu.sync.asiEksklusifAsked
import id.posyandu.sync.bindingsVersion
import id.posyandu.sync.referralActionLabel
import id.posyandu.sync.referralReasons
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.runBlocking
import java.io.File
import java.nio.file.Files
import java.time.LocalDate
import kotlin.system.exitProcess
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue

// The ILP screens' view models (issue 12: referrals, birth, pindah/meninggal, ASI
// eksklusif on the visit form) against the REAL Rust core through the uniffi bindings,
// in a temp store. Run by android-demo/run-jvm-tests.sh (every test file with a
// top-level main is a test program).

private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
private fun Job.await() = runBlocking { join() }

private const val MOTHER_NIK = "3201014203950001" // female, born 1995-03-02

private class IlpFixture(dir: File) {
    val gw: PosyanduGateway = StoreHolder(dir, testKeys(dir)).setUp("device-ilp", "kader-ilp", "P-3201010001-09")
    val today: LocalDate = LocalDate.parse(gw.today())
    val hh = gw.createHousehold(NewHousehold(
        kkNumber = null,
        address = Address(rt = "003", rw = "004", dusun = null, kodeWilayah = "3201010001", street = null),
        gps = null,
        spm = SpmAttributes(cleanWater = null, latrine = null),
    ))
    val ayah = gw.addMember(hh, NewMember("Ujang Suryana", "1980-02-10", Sex.MALE, Relation.KEPALA_KELUARGA))
    val ibu = gw.addMember(hh, NewMember("Ratna Dewi", "1995-03-02", Sex.FEMALE, Relation.ISTRI, nik = MOTHER_NIK))
    /** 2 months and a few days: ASI eksklusif is asked. */
    val bayi = gw.addMember(hh, NewMember("Bayi Putri", today.minusMonths(2).minusDays(4).toString(), Sex.FEMALE,
        Relation.ANAK, motherNik = MotherNik(MOTHER_NIK, 1u.toUByte())))
    /** 8 months: ASI eksklusif is not asked (the core's rule). */
    val anak = gw.addMember(hh, NewMember("Anak Delapan", today.minusMonths(8).minusDays(3).toString(), Sex.MALE, Relation.ANAK))
}

fun main() {
    val tmp = Files.createTempDirectory("posyandu-android-ilp-").toFile()
    println("android-demo ILP view model tests (bindings ${bindingsVersion()}), temp dir $tmp")
    val f = IlpFixture(File(tmp, "ilp"))
    val gw = f.gw

    test("the core's catalogues: referral reasons and action labels (no list in Kotlin)") {
        val codes = referralReasons().map { it.code }
        assertTrue(codes.containsAll(listOf("2T", "BGM", "KEK_HAMIL", "HIPERTENSI", "TANDA_BAHAYA", "LAINNYA")), "$codes")
        assertTrue(referralReasons().single { it.code == "HIPERTENSI" }.proposedByRules)
        assertFalse(referralReasons().single { it.code == "TANDA_BAHAYA" }.proposedByRules)
        assertEquals("Konseling gizi", referralActionLabel("konseling_gizi"))
        assertEquals("kode_baru", referralActionLabel("kode_baru"))
    }

    test("referral: the rulebook proposes hypertension, the kader raises it, the list shows the core's status") {
        // Blood pressure 165/100 today: the core's screening says hypertension.
        gw.recordVisit(f.hh, NewVisit(date = f.today.toString(), kind = VisitKind.KUNJUNGAN_RUMAH, entries = listOf(VisitEntry(
            memberId = f.ayah, measurements = Measurements(bpSystolicMmhg = 165u.toUShort(), bpDiastolicMmhg = 100u.toUShort())))))
        val vm = ReferralsViewModel(gw, f.hh, scope)
        vm.load().await()
        assertNull(vm.current.error)
        assertEquals(emptyList(), vm.current.referrals)
        assertFalse(vm.current.canSave, "no member chosen")
        vm.selectMember(f.ayah).await()
        val s = vm.current
        assertEquals(listOf("HIPERTENSI"), s.selectedCodes, "the proposed reason is pre-selected")
        assertTrue(s.reasons.first().proposed && s.reasons.first().code == "HIPERTENSI", "proposed first")
        assertEquals("Diusulkan: Tekanan darah tinggi (hipertensi)", s.proposalText)
        // The kader adds a danger sign she observed, then saves.
        vm.toggleReason("TANDA_BAHAYA")
        vm.setNote("  pusing berat  ")
        assertTrue(vm.current.canSave)
        vm.save().await()
        val after = vm.current
        assertNull(after.error, after.error?.fullText)
        assertNotNull(after.savedReferralId)
        val row = after.referrals.single()
        assertEquals("Ujang Suryana", row.memberName)
        assertEquals("Dirujuk", row.statusLabel)
        assertFalse(row.closed)
        assertEquals("Tekanan darah tinggi (hipertensi), Tanda bahaya (ibu hamil, nifas, bayi/balita sakit)", row.reasonsText)
        assertEquals(1, row.steps.size)
        assertTrue(row.steps[0].contains("Dirujuk · kader kader-ilp"), row.steps[0])
        assertNull(row.followUpText, "no bidan step yet")
        assertEquals("", after.note)
        // An open referral's reasons are not proposed again.
        assertEquals(emptyList(), after.selectedCodes)
        assertNull(after.proposalText)
        val stored = gw.householdReferrals(f.hh).single()
        assertEquals("pusing berat", stored.note)
        assertEquals(listOf("HIPERTENSI", "TANDA_BAHAYA"), stored.reasons.sorted())
    }

    test("referral row: the bidan's steps, coded action and follow-up as the core gives them") {
        // A referral as the phone holds it after the relay's bidan steps synced (the status
        // and its label are the core's; the row only formats them).
        val r = ReferralRecord(
            id = "r-1", memberId = f.anak, date = "2026-11-03", status = "ditangani", statusLabel = "Ditangani bidan",
            closed = false, reasons = listOf("2T", "KODE_BARU"), note = null,
            steps = listOf(
                ReferralStep("ditangani", "Ditangani bidan", "bidan", "B-001", 1_794_364_200L, "konseling_gizi", null, "2026-11-20"),
                ReferralStep("dirujuk", "Dirujuk", "kader", "K-1", 1_794_277_800L, null, null, null),
            ),
        )
        val labels = referralReasons().associate { it.code to it.label }
        val row = ReferralsViewModel.row(r, "Anak Delapan", labels, "2026-11-20")
        assertEquals("Dirujuk 3 November 2026", row.dateText)
        assertEquals("Berat badan tidak naik dua kali berturut-turut (2T), KODE_BARU", row.reasonsText)
        assertEquals(listOf(
            "10 November 2026 09.30 WIB · Dirujuk · kader K-1",
            "11 November 2026 09.30 WIB · Ditangani bidan · bidan B-001 · Konseling gizi",
        ), row.steps)
        assertEquals("Bidan meminta kunjungan rumah paling lambat 20 November 2026", row.followUpText)
        assertNull(ReferralsViewModel.row(r, "x", labels, null).followUpText)
    }

    test("referral: without a reason nothing is saved; the form keeps the member") {
        val vm = ReferralsViewModel(gw, f.hh, scope, preselectMemberId = f.anak)
        vm.load().await()
        assertEquals(f.anak, vm.current.memberId)
        assertEquals(emptyList(), vm.current.selectedCodes, "nothing proposed for a child never weighed")
        assertFalse(vm.current.canSave)
        vm.save().await()
        assertEquals(1, gw.householdReferrals(f.hh).size)
    }

    test("ASI eksklusif on the visit form: asked where the core says so, saved typed") {
        assertTrue(asiEksklusifAsked(f.today.minusMonths(5).toString(), f.today.toString()))
        assertFalse(asiEksklusifAsked(f.today.minusMonths(6).toString(), f.today.toString()))
        assertFalse(asiEksklusifAsked("bukan tanggal", f.today.toString()))
        val vm = RecordVisitViewModel(gw, f.hh, scope)
        vm.load().await()
        val bayi = vm.current.entries.single { it.memberId == f.bayi }
        val anak = vm.current.entries.single { it.memberId == f.anak }
        assertTrue(bayi.asiApplies)
        assertFalse(anak.asiApplies)
        vm.answerAsi(f.anak, true)
        assertNull(vm.current.entries.single { it.memberId == f.anak }.asiEksklusif, "not asked of an 8-month-old")
        // Three months back the 8-month-old was 5 months old (the core asks it then) and
        // the baby not yet born (an answer given for that date is dropped).
        vm.answerAsi(f.bayi, true)
        vm.setDate(f.today.minusMonths(3).toString()).await()
        assertTrue(vm.current.entries.single { it.memberId == f.anak }.asiApplies)
        assertFalse(vm.current.entries.single { it.memberId == f.bayi }.asiApplies)
        assertNull(vm.current.entries.single { it.memberId == f.bayi }.asiEksklusif)
        vm.setDate(f.today.toString()).await()
        assertFalse(vm.current.entries.single { it.memberId == f.anak }.asiApplies)
        vm.answerAsi(f.bayi, false)
        vm.answerAsi(f.bayi, true)
        assertEquals(true, vm.current.entries.single { it.memberId == f.bayi }.asiEksklusif)
        vm.answerAsi(f.bayi, true)
        assertNull(vm.current.entries.single { it.memberId == f.bayi }.asiEksklusif, "the same answer again clears it")
        vm.answerAsi(f.bayi, true)
        vm.edit(f.bayi) { it.copy(included = true, weight = "5,1") }
        vm.save().await()
        assertNull(vm.current.error, vm.current.error?.fullText)
        val visit = gw.household(f.hh).visits.single { it.id == vm.current.savedVisitId }
        assertEquals(true, visit.entries.single { it.memberId == f.bayi }.asiEksklusif)
        // Editing the visit shows the recorded answer.
        val edit = RecordVisitViewModel(gw, f.hh, scope, visitId = visit.id)
        edit.load().await()
        assertEquals(true, edit.current.entries.single { it.memberId == f.bayi }.asiEksklusif)
    }

    test("birth: twins registered from the pregnancy in one step; a second outcome is refused by the core") {
        val preg = gw.addPregnancy(f.hh, NewPregnancy(memberId = f.ibu, lmp = f.today.minusDays(270).toString(), gravida = 2u.toUByte()))
        val vm = BirthViewModel(gw, f.hh, scope)
        vm.load().await()
        assertEquals(preg, vm.current.pregnancyId, "the only ongoing pregnancy is chosen")
        assertEquals("Ratna Dewi", vm.current.pregnancies.single().motherName)
        assertFalse(vm.current.canSave, "outcome not chosen")
        vm.edit { it.copy(outcome = OutcomeKind.LAHIR_HIDUP, place = BirthPlace.FASILITAS_KESEHATAN, attendant = BirthAttendant.BIDAN) }
        vm.editBaby(0) { BabyForm(name = "Kembar Satu", sex = Sex.FEMALE, weight = "2,4", length = "46") }
        vm.addBaby()
        vm.save().await()
        assertEquals("Pilih jenis kelamin bayi ke-2", vm.current.error?.message, "checked before the core")
        vm.editBaby(1) { BabyForm(name = "Kembar Dua", sex = Sex.MALE, weight = "dua", length = "") }
        vm.save().await()
        assertEquals("Data tidak valid: berat lahir bayi ke-2 harus berupa angka (diisi: \"dua\")", vm.current.error?.message)
        vm.editBaby(1) { it.copy(weight = "2.2") }
        vm.save().await()
        assertNull(vm.current.error, vm.current.error?.fullText)
        val ids = vm.current.newbornIds!!
        assertEquals(2, ids.size)
        assertEquals("Hasil persalinan tersimpan; 2 bayi terdaftar sebagai anggota keluarga", vm.current.savedText)
        val h = gw.household(f.hh)
        assertEquals(listOf("Kembar Satu", "Kembar Dua"), ids.map { id -> h.members.single { it.id == id }.name })
        assertEquals(f.today.toString(), h.members.single { it.id == ids[0] }.birthDate)
        assertEquals(f.today.toString(), h.pregnancies.single { it.id == preg }.ended)
        // The ended pregnancy is no longer offered; forcing it, the core refuses.
        val again = BirthViewModel(gw, f.hh, scope, preselectPregnancyId = preg)
        again.load().await()
        assertEquals(emptyList(), again.current.pregnancies)
        again.edit { it.copy(pregnancyId = preg, outcome = OutcomeKind.KEGUGURAN) }
        again.save().await()
        assertNotNull(again.current.error, "a second outcome")
        assertNull(again.current.newbornIds)
        assertEquals(h.members.size, gw.household(f.hh).members.size, "nothing written")
    }

    test("birth: a miscarriage registers no newborn even with a baby typed") {
        val other = gw.createHousehold(NewHousehold(
            kkNumber = null,
            address = Address(rt = "003", rw = "004", dusun = null, kodeWilayah = "3201010001", street = null),
            gps = null,
            spm = SpmAttributes(cleanWater = null, latrine = null),
        ))
        val ibu = gw.addMember(other, NewMember("Sri Wahyuni", "1998-06-06", Sex.FEMALE, Relation.ISTRI))
        gw.addPregnancy(other, NewPregnancy(memberId = ibu, lmp = f.today.minusDays(70).toString(), gravida = 1u.toUByte()))
        val vm = BirthViewModel(gw, other, scope)
        vm.load().await()
        vm.edit { it.copy(outcome = OutcomeKind.KEGUGURAN) }
        vm.editBaby(0) { BabyForm(name = "tidak dipakai", sex = Sex.MALE) }
        assertFalse(vm.current.liveBirth)
        vm.save().await()
        assertNull(vm.current.error, vm.current.error?.fullText)
        assertEquals(emptyList(), vm.current.newbornIds)
        assertEquals(1, gw.household(other).members.size)
    }

    test("member status: pindah today takes the member off the lists; a future day is refused by the core") {
        assertEquals(1, gw.searchMembers("Anak Delapan", 10).size)
        val vm = MemberStatusViewModel(gw, f.hh, scope, preselectMemberId = f.anak)
        vm.load().await()
        assertEquals(f.anak, vm.current.memberId)
        assertEquals(f.today.toString(), vm.current.date)
        assertFalse(vm.current.canSave, "status not chosen")
        vm.edit { it.copy(status = MemberStatusKind.PINDAH, date = f.today.plusDays(3).toString()) }
        vm.save().await()
        assertNotNull(vm.current.error, "a status is never in the future")
        assertFalse(vm.current.saved)
        vm.edit { it.copy(date = f.today.toString()) }
        vm.save().await()
        assertNull(vm.current.error, vm.current.error?.fullText)
        assertTrue(vm.current.saved)
        assertTrue(vm.current.savedText!!.startsWith("Anak Delapan tercatat pindah sejak "), vm.current.savedText)
        assertEquals(0, gw.searchMembers("Anak Delapan", 10).size, "gone from search")
        assertTrue(gw.dueVisits().none { it.memberId == f.anak }, "gone from the due list")
    }

    val code = TestRunner.summary("android-demo")
    (gw as? AutoCloseable)?.close()
    tmp.deleteRecursively()
    exitProcess(code)
}
