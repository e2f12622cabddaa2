// Golden vectors tests/golden/screening.json through the Kotlin bindings: adult
// screening through the typed screeningPreview() and NIK warnings through
// nikWarnings(), the functions the app uses. The same file is run by
// core/tests/golden_screening.rs (Rust) and bindings/tests/python/test_golden_screening.py.
package golden.screening

import golden.*
import id.posyandu.sync.*
import kotlin.math.abs

private fun sex(s: Any?): Sex = when (s) {
    "male" -> Sex.MALE
    "female" -> Sex.FEMALE
    else -> error("sex $s")
}

private fun num(m: Map<String, Any?>, k: String): Double? = (m[k] as Double?)

private fun measurements(m: Map<String, Any?>): Measurements = Measurements(
    weightKg = num(m, "weight_kg"),
    lengthHeightCm = num(m, "length_height_cm"),
    headCircumferenceCm = num(m, "head_circumference_cm"),
    muacCm = num(m, "muac_cm"),
    waistCm = num(m, "waist_cm"),
    bpSystolicMmhg = num(m, "bp_systolic_mmhg")?.toInt()?.toUShort(),
    bpDiastolicMmhg = num(m, "bp_diastolic_mmhg")?.toInt()?.toUShort(),
    bloodGlucoseMgDl = num(m, "blood_glucose_mg_dl"),
    bloodGlucoseKind = when (m["blood_glucose_kind"]) {
        null -> null
        "puasa" -> GlucoseKind.PUASA
        "sewaktu" -> GlucoseKind.SEWAKTU
        else -> error("glucose kind ${m["blood_glucose_kind"]}")
    },
    oedema = m["oedema"] as Boolean?,
)

private fun same(expected: Any?, got: Any?): Boolean = when {
    expected is Double && got is Number -> abs(expected - got.toDouble()) < 1e-9
    else -> expected == got
}

fun main() {
    val screening = goldenCases("screening").filter { it["kind"] == "screening" }
    val nik = goldenCases("screening").filter { it["kind"] == "nik" }
    test("golden screening: at least 20 screening and 5 NIK cases") {
        check(screening.size >= 20 && nik.size >= 5) { "${screening.size} / ${nik.size}" }
    }
    for (c in screening) {
        test("screening: ${c["why"]}") {
            @Suppress("UNCHECKED_CAST")
            val m = c["measurements"] as Map<String, Any?>
            val r = screeningPreview(sex(c["sex"]), c["birth_date"] as String, c["visit_date"] as String, measurements(m))
            val got = mapOf<String, Any?>(
                "age_years" to r.ageYears.toDouble(),
                "applies" to r.applies,
                "hypertension" to r.hypertension,
                "glucose_kind" to r.glucoseKind?.name?.lowercase(),
                "high_glucose" to r.highGlucose,
                "imt" to r.imt,
                "imt_category" to r.imtCategory?.name?.lowercase(),
                "central_obesity" to r.centralObesity,
            )
            @Suppress("UNCHECKED_CAST")
            val expected = c["expected"] as Map<String, Any?>
            for ((k, e) in expected) {
                check(same(e, got[k])) { "$k: expected $e, got ${got[k]}" }
            }
        }
    }
    for (c in nik) {
        test("nik: ${c["why"]}") {
            val w = nikWarnings(c["nik"] as String, c["birth_date"] as String, sex(c["sex"]))
            @Suppress("UNCHECKED_CAST")
            val expected = c["expected"] as Map<String, Any?>
            check(w.map { it.code } == expected["codes"]) { "codes: expected ${expected["codes"]}, got ${w.map { it.code }}" }
            expected["messages"]?.let { msgs ->
                check(w.map { it.message } == msgs) { "messages: expected $msgs, got ${w.map { it.message }}" }
            }
        }
    }
    finish()
}
