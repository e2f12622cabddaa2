// Golden vectors tests/golden/growth.json through the Kotlin bindings (assessGrowth):
// the same z-scores and category labels as core/tests/golden_growth.rs.
package golden.growth

import golden.*
import id.posyandu.sync.*
import kotlin.math.abs

fun main() {
    val tol = 5e-7 + 1e-12
    for (c in goldenCases("growth")) {
        val why = c.str("why")
        test("growth: $why") {
            val i = c.obj("input")
            val e = c.obj("expected")
            val r = assessGrowth(
                GrowthInput(
                    sex = if (i.str("sex") == "male") Sex.MALE else Sex.FEMALE,
                    birthDate = i.str("birth_date"),
                    measuredOn = i.str("measured_on"),
                    weightKg = i.numOrNull("weight_kg"),
                    lengthHeightCm = i.numOrNull("length_height_cm"),
                    measure = when (i.strOrNull("measure")) { "lying" -> Measure.LYING; "standing" -> Measure.STANDING; else -> null },
                    oedema = i["oedema"] as Boolean,
                    headCircumferenceCm = i.numOrNull("head_circumference_cm"),
                    muacCm = i.numOrNull("muac_cm"),
                ),
            )
            check(r.ageDays == e.num("age_days").toLong()) { "age_days ${r.ageDays}" }
            check(r.reference == e.strOrNull("reference")) { "reference ${r.reference}" }
            for ((name, got) in listOf("zwfa" to r.zwfa, "zlhfa" to r.zlhfa, "zwfl" to r.zwfl, "zbmi" to r.zbmi, "zhcfa" to r.zhcfa, "zmuac" to r.zmuac)) {
                val want = e.numOrNull(name)
                check((want == null) == (got == null)) { "$name expected $want, got $got" }
                if (want != null) check(abs(want - got!!) <= tol) { "$name expected $want, got $got" }
            }
            check(r.bbuLabel == e.strOrNull("bbu_label")) { "bbu ${r.bbuLabel}" }
            check(r.tbuLabel == e.strOrNull("tbu_label")) { "tbu ${r.tbuLabel}" }
            check(r.bbtbLabel == e.strOrNull("bbtb_label")) { "bbtb ${r.bbtbLabel}" }
            check(r.imtuLabel == e.strOrNull("imtu_label")) { "imtu ${r.imtuLabel}" }
        }
    }
    finish()
}
