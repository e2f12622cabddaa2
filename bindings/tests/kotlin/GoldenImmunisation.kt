// Golden vectors tests/golden/immunisation.json through the Kotlin bindings (the
// typed functions the app uses: immunisationStatus, expectedVitaminACapsule,
// vitaminAMissed, knownAntigens). The same file is run by
// core/tests/golden_immunisation.rs and bindings/tests/python/test_golden_immunisation.py.
// Helpers (goldenCases, test, finish) are in Golden.kt (package golden).

package golden.immunisation

import golden.*
import id.posyandu.sync.*

@Suppress("UNCHECKED_CAST")
private fun <T> Any?.cast(): T = this as T

fun main() {
    val all = goldenCases("immunisation")
    fun cases(kind: String) = all.filter { it["kind"] == kind }

    for (c in cases("immunisation_status")) {
        test("immunisation_status ${c["name"]}") {
            val given = c["given"].cast<List<Map<String, Any?>>>().map {
                GivenDose(code = it["code"] as String, date = it["date"] as String)
            }
            val got = immunisationStatus(c["birth_date"] as String, given, c["today"] as String)
            check(got.size == (c["expected_len"] as Double).toInt()) { "len ${got.size}: ${c["why"]}" }
            val byCode = got.associateBy { it.code }
            for ((code, exp) in c["expected_status"].cast<Map<String, Map<String, Any?>>>()) {
                val s = byCode[code] ?: error("$code missing")
                check(s.status.name.lowercase() == exp["status"]) { "$code: ${s.status}, want ${exp["status"]} (${c["why"]})" }
                check(s.givenDate == exp["date"]) { "$code: date ${s.givenDate}, want ${exp["date"]}" }
            }
            val overdue = got.filter { it.group == AntigenGroup.ANAK && it.status == DoseStatus.OVERDUE }.map { it.code }
            check(overdue == c["expected_overdue"]) { "overdue $overdue, want ${c["expected_overdue"]} (${c["why"]})" }
        }
    }
    for (c in cases("vitamin_a_capsule")) {
        test("vitamin_a_capsule ${c["name"]}") {
            val got = expectedVitaminACapsule(c["birth_date"] as String, c["on"] as String, c["nifas"] as Boolean)
            check(got?.name?.lowercase() == c["expected_capsule"]) { "$got, want ${c["expected_capsule"]} (${c["why"]})" }
        }
    }
    for (c in cases("vitamin_a_missed")) {
        test("vitamin_a_missed ${c["name"]}") {
            val got = vitaminAMissed(c["birth_date"] as String, c["last_vitamin_a"] as String?, c["today"] as String)
            check(got == c["expected_missed"]) { "$got, want ${c["expected_missed"]} (${c["why"]})" }
        }
    }
    test("golden immunisation file has every kind") {
        check(cases("immunisation_status").size >= 10 && cases("vitamin_a_capsule").size >= 5 && cases("vitamin_a_missed").size >= 5)
    }
    test("known antigens cover every code the app may record") {
        val codes = knownAntigens().map { it.code }
        for (c in listOf("HB0", "BCG", "RV1", "MR2", "DT", "TD1", "TD5", "HPV1", "HPV2", "JE")) check(c in codes) { "$c missing" }
        check(knownAntigens().first { it.code == "RV1" }.bornFrom == "2023-05-16")
    }
    finish()
}
