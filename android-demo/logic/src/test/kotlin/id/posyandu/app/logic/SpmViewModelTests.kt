@file:JvmName("SpmViewModelTests")

package id.posyandu.app.logic

import id.posyandu.app.logic.TestRunner.test
import id.posyandu.sync.Address
import id.posyandu.sync.NewHousehold
import id.posyandu.sync.NewMember
import id.posyandu.sync.Relation
import id.posyandu.sync.Sex
import id.posyandu.sync.SpmAttributes
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.runBlocking
import java.io.File
import java.nio.file.Files
import kotlin.system.exitProcess
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue

// SpmViewModel ("Kebutuhan SPM", issue 13) against the REAL Rust core (uniffi bindings
// over JNA) and a temp store. Run by android-demo/run-jvm-tests.sh.

fun main() {
    val tmp = Files.createTempDirectory("posyandu-spm-vm-").toFile()
    val spmScope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    val holder = StoreHolder(File(tmp, "a"), testKeys(File(tmp, "a")))
    val gw = holder.setUp("device-a", "kader-a", "P-3201010001-01")
    val spm = gw as SpmGateway
    val hh = gw.createHousehold(NewHousehold(null, Address("004", "002", null, "3201010001", null), null, SpmAttributes()))
    val darto = gw.addMember(hh, NewMember("Darto", "1950-01-01", Sex.MALE, Relation.KEPALA_KELUARGA))
    val vm = SpmViewModel(spm, spmScope, Dispatchers.IO, people = gw)
    fun <T> join(j: kotlinx.coroutines.Job, then: () -> T): T { runBlocking { j.join() }; return then() }

    test("empty list, the core's catalogue split by person / household") {
        join(vm.refresh()) {}
        assertEquals("Belum ada kebutuhan SPM yang dicatat", vm.current.emptyText)
        assertFalse(vm.current.koordinator)
        assertTrue(vm.needsFor(true).any { it.code == "alat_bantu_disabilitas" && it.areaLabel == "Sosial" })
        assertTrue(vm.needsFor(false).any { it.code == "rutilahu" })
        assertTrue(vm.needsFor(false).none { it.code == "alat_bantu_disabilitas" })
        assertEquals(listOf(SpmChoice(hh, "Keluarga Darto · RT 004")), vm.current.households)
        join(vm.chooseHousehold(hh)) {}
        assertEquals(listOf(SpmChoice(darto, "Darto")), vm.current.members)
    }

    test("raise a need twice: one request with two notes; a person's need for the household is refused") {
        join(vm.raise(hh, darto, "alat_bantu_disabilitas", "Butuh alat bantu dengar")) {}
        join(vm.raise(hh, darto, "alat_bantu_disabilitas", "Pendengaran sangat berkurang")) {}
        assertNull(vm.current.error)
        val row = vm.current.rows.single()
        assertEquals("Penyandang disabilitas membutuhkan alat bantu — Darto", row.title)
        assertEquals("dicatat", row.status)
        assertTrue(row.detail.startsWith("2 catatan"), row.detail)
        assertFalse(row.canVerify, "not the koordinator")
        join(vm.raise(hh, null, "alat_bantu_disabilitas", "x")) {}
        assertNotNull(vm.current.error)
        assertTrue(vm.current.error!!.message.contains("anggota keluarga"), vm.current.error!!.message)
        assertEquals(1, vm.current.rows.size, "nothing saved")
        join(vm.raise(hh, null, "rutilahu", " ")) {}
        assertNotNull(vm.current.error, "an empty note is refused by the core")
    }

    test("a kader who is not the koordinator gets the core's refusal") {
        join(vm.verify(vm.current.rows.single())) {}
        assertTrue(vm.current.error!!.message.contains("koordinator"), vm.current.error!!.message)
    }

    test("the koordinator verifies and hands it to the desa; the status follows") {
        join(vm.setKoordinator(true)) {}
        assertTrue(vm.current.koordinator)
        var row = vm.current.rows.single()
        assertTrue(row.canVerify && !row.canForward)
        join(vm.verify(row)) {}
        row = vm.current.rows.single()
        assertEquals("Diverifikasi kader koordinator", row.statusLabel)
        assertTrue(row.canForward && !row.canVerify)
        join(vm.forward(row)) {}
        row = vm.current.rows.single()
        assertEquals("diteruskan_ke_desa", row.status)
        assertFalse(row.canForward || row.canVerify)
        assertEquals("Diteruskan ke desa/kelurahan (terkirim saat sinkron)", vm.current.message)
        val full = spm.spmRequest(row.householdId, row.key)
        // The same kader reporting twice records one dicatat step; then the koordinator's two.
        assertEquals(listOf("dicatat", "diverifikasi", "diteruskan_ke_desa"), full.steps.map { it.status })
        assertEquals(2, full.notes.size)
    }

    holder.close()
    tmp.deleteRecursively()
    exitProcess(TestRunner.summary("android-demo"))
}
