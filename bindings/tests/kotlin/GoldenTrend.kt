// Golden vectors tests/golden/trend.json (issue 10) through the Kotlin bindings:
// each case is a child's weighings and the N/T/O/B of each, asked of `kmsTrends`
// (the core's rules::trend::series_trends, behind the store's trends, the growth
// preview and the Puskesmas report). Same file as core/tests/golden_trend.rs and
// bindings/tests/python/test_golden_trend.py. Helpers: Golden.kt (package golden).
package golden.trend

import golden.*
import id.posyandu.sync.*
import kotlin.test.assertEquals
import kotlin.test.assertTrue

fun main() {
    val cases = goldenCases("trend")
    test("trend: at least 20 cases") { assertTrue(cases.size >= 20, "cases: ${cases.size}") }
    for (c in cases) {
        val name = c["name"] as String
        test("trend: $name") {
            val why = c["why"] as String
            assertTrue(why.isNotBlank(), "no why")
            val sex = when (c["sex"]) {
                "male" -> Sex.MALE
                "female" -> Sex.FEMALE
                else -> error("sex ${c["sex"]}")
            }
            @Suppress("UNCHECKED_CAST")
            val weighings = (c["weighings"] as List<Map<String, Any?>>).map {
                Weighing(date = it["date"] as String, weightKg = (it["weight_kg"] as Number).toDouble())
            }
            val got = kmsTrends(sex, c["birth_date"] as String, weighings).map { it?.name }
            assertEquals(c["expected"] as List<*>, got, why)
        }
    }
    finish()
}
