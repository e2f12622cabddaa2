@file:JvmName("MonthViewModelTests")

package id.posyandu.app.logic

import id.posyandu.app.logic.TestRunner.test
import id.posyandu.sync.Measurements
import id.posyandu.sync.NewVisit
import id.posyandu.sync.VisitEntry
import id.posyandu.sync.VisitKind
import java.io.File
import java.nio.file.Files
import kotlin.system.exitProcess
import kotlin.test.assertEquals
import kotlin.test.assertNull
import kotlin.test.assertTrue

// "Bulan ini" (issue 12): the H-1 undangan list, the register of the latest session and
// the home-visit list after it, from the REAL core. Run by android-demo/run-jvm-tests.sh.
fun main() {
    val tmp = Files.createTempDirectory("posyandu-android-month-").toFile()
    val f = Fixture(File(tmp, "m"))
    val gw = f.gw
    val session = f.today.minusDays(3).toString()
    val next = f.today.plusDays(5).toString()

    test("bulan ini: without a schedule there is no list, and it says so") {
        val vm = MonthViewModel(gw, scope)
        vm.refresh().await()
        assertNull(vm.current.error)
        assertEquals(emptyList(), vm.current.sections)
        assertEquals("Jadwal hari buka belum diatur", vm.current.scheduleText)
    }

    test("bulan ini: undangan, register and home visits, in that order") {
        gw.setServiceDate(session, "Balai RW 02", null, false)
        gw.setServiceDate(next, null, null, false)
        val vm = MonthViewModel(gw, scope)
        vm.refresh().await()
        val s = vm.current
        assertNull(s.error)
        assertEquals(next, s.nextServiceDay)
        assertTrue(s.scheduleText.startsWith("Hari buka berikutnya: "), s.scheduleText)
        assertEquals(3, s.sections.size)
        val (invite, register, home) = s.sections
        assertTrue(invite.title.startsWith("Undangan hari buka ${Format.date(next)}"), invite.title)
        assertEquals(setOf("Nur Aisyah", "Rizky Pratama"), invite.rows.map { it.name }.toSet())
        assertTrue(invite.rows.all { "Penimbangan bulanan" in it.details }, invite.rows.toString())
        assertEquals("Register hari buka ${Format.date(session)}: 0 dari 2 hadir", register.title)
        assertEquals(listOf("Tidak hadir di hari buka"), home.rows.map { it.marker }.distinct())

        gw.recordVisit(f.hh1, NewVisit(date = session, kind = VisitKind.HARI_BUKA,
            entries = listOf(VisitEntry(memberId = f.nur, measurements = Measurements(weightKg = 7.9)))))
        vm.refresh().await()
        val (_, reg2, home2) = vm.current.sections
        assertEquals("Register hari buka ${Format.date(session)}: 1 dari 2 hadir", reg2.title)
        val nur = reg2.rows.single { it.memberId == f.nur }
        assertEquals("Hadir", nur.marker)
        assertTrue(nur.details.first().startsWith("BB 7,9 kg"), nur.details.toString())
        assertEquals("Rizky Pratama", home2.rows.first().name)
        assertEquals("Tidak hadir di hari buka", home2.rows.first().marker)
        assertTrue(home2.rows.none { it.memberId == f.nur && it.marker == "Tidak hadir di hari buka" })
    }

    val code = TestRunner.summary("android-demo")
    (gw as? AutoCloseable)?.close()
    tmp.deleteRecursively()
    exitProcess(code)
}
