// The Posyandu document (issue 12) through the Kotlin bindings: schedule rule and an
// explicit service date, roster, area, sasaran; the H-1 undangan list, the register of
// a service day and the home-visit list after it. Same scenario as
// bindings/tests/python/test_posyandu.py. Run by bindings/run-jvm-tests.sh.
package posyandu.doc

import golden.finish
import golden.test
import id.posyandu.sync.*
import java.nio.file.Files
import java.time.LocalDate
import java.time.ZoneOffset
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNotNull
import kotlin.test.assertTrue

class Keys : KeyProvider {
    private val key = ByteArray(32).also { java.security.SecureRandom().nextBytes(it) }
    private val secrets = java.util.concurrent.ConcurrentHashMap<String, String>()
    override fun databaseKey(): ByteArray = key.copyOf()
    override fun readSecret(name: String): String? = secrets[name]
    override fun writeSecret(name: String, value: String?) {
        if (value == null) secrets.remove(name) else secrets[name] = value
    }
}

fun main() {
    val today: LocalDate = LocalDate.now(ZoneOffset.ofHours(7))
    val dir = Files.createTempDirectory("posyandu-kt-doc-")
    val store = KaderStore.open(dir.resolve("p.db").toString(), "device-p", "kader-p", "P-DOC", Keys())
    val session = today.minusDays(3)

    test("posyandu: schedule rule, explicit date, roster, area, sasaran") {
        assertEquals(null, store.posyandu().ruleWeek)
        store.setScheduleRule("2", "selasa")
        store.setServiceDate(session.toString(), "Balai RW 02", null, false)
        store.setRosterEntry("kader-p", "Bu Ani", "ketua", true)
        store.setAreaEntry("3201010001", "002", "003", "Cibeureum", true)
        store.setSasaran(today.year, 12u, null, 10u, 48u, 30u)
        val p = store.posyandu()
        assertEquals("second", p.ruleWeek)
        assertEquals("tuesday", p.ruleWeekday)
        assertEquals("selasa kedua setiap bulan", p.ruleLabel)
        assertEquals(listOf(session.toString()), p.dates.map { it.date })
        assertEquals("Balai RW 02", p.dates.single().place)
        assertEquals("Bu Ani", p.roster.single().name)
        assertEquals("003", p.area.single().rt)
        assertEquals(48u, p.sasaran.single().balita)
        assertEquals("kader", p.sasaran.single().source)
        assertNotNull(p.nextServiceDay)
        assertEquals(1uL + 5uL, store.pendingChanges(), "genesis + five edits queued for the relay")
        assertFailsWith<PosyanduException.Validation> { store.setScheduleRule("9", "selasa") }
        assertFailsWith<PosyanduException.Validation> { store.setAreaEntry("32", "002", "003", null, true) }
        assertEquals(0, store.listHouseholds(null).size, "the Posyandu document is not a household")
    }

    lateinit var hh: String
    lateinit var child: String
    test("posyandu: undangan, register, home-visit list of a service day") {
        hh = store.createHousehold(NewHousehold(kkNumber = null,
            address = Address(rt = "003", rw = "002", kodeWilayah = "3201010001"), spm = SpmAttributes()))
        child = store.addMember(hh, NewMember(name = "Nur", birthDate = today.minusMonths(10).toString(),
            sex = Sex.FEMALE, relation = Relation.ANAK))
        val inv = store.undangan(session.toString())
        assertEquals(session.toString(), inv.serviceDay)
        val item = inv.items.single()
        assertEquals("Nur", item.name)
        assertEquals("bayi_balita", item.stage)
        assertTrue(item.reasons.any { it.code == "penimbangan" }, "${item.reasons}")
        val before = store.homeVisitList(session.toString())
        assertEquals(listOf("tidak_hadir"), before.items.map { it.section })
        assertEquals(0u, store.serviceRegister(session.toString()).came)
        store.recordVisit(hh, NewVisit(date = session.toString(), kind = VisitKind.HARI_BUKA,
            entries = listOf(VisitEntry(memberId = child, measurements = Measurements(weightKg = 8.2)))))
        val reg = store.serviceRegister(session.toString())
        assertEquals(1u, reg.expected)
        assertEquals(1u, reg.came)
        assertEquals(8.2, reg.entries.single().weightKg)
        assertTrue(reg.entries.single().came)
        assertTrue(store.homeVisitList(session.toString()).items.none { it.section == "tidak_hadir" })
    }
    store.close()
    finish()
}
