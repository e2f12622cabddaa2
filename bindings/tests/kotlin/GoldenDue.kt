// Golden vectors tests/golden/due.json (issue 10) through the Kotlin bindings.
// due_reasons: a member's visits, whether this month's hari buka has taken place and
// today, asked of `dueReasons` (the core's rules::due::reasons, which the store's
// dueVisits uses): reason codes (DueReasonCode names) and, when given, the
// Indonesian labels. session: `sessionHeld` (rules::session). Same file as
// core/tests/golden_due.rs and bindings/tests/python/test_golden_due.py.
package golden.due

import golden.*
import id.posyandu.sync.*
import kotlin.test.assertEquals
import kotlin.test.assertTrue

@Suppress("UNCHECKED_CAST")
fun dueInput(c: Map<String, Any?>): DueInput = DueInput(
    birthDate = c["birth_date"] as String,
    sex = Sex.valueOf(c["sex"] as String),
    stage = LifeStage.valueOf(c["stage"] as String),
    kek = c["kek"] as Boolean,
    visits = (c["visits"] as List<Map<String, Any?>>).map { v ->
        SeenVisit(
            date = v["date"] as String,
            weightKg = (v["weight_kg"] as Number?)?.toDouble(),
            vitaminA = (v["vitamin_a"] as Boolean?) ?: false,
            antigens = (v["antigens"] as List<String>?) ?: emptyList(),
        )
    },
    sessionHeld = c["session_held"] as Boolean,
    today = c["today"] as String,
)

fun main() {
    val cases = goldenCases("due")
    test("due: at least 25 cases") { assertTrue(cases.size >= 25, "cases: ${cases.size}") }
    for (c in cases) {
        val name = c["name"] as String
        test("due: $name") {
            val why = c["why"] as String
            assertTrue(why.isNotBlank(), "no why")
            when (c["kind"]) {
                "due_reasons" -> {
                    val reasons = dueReasons(dueInput(c))
                    assertEquals(c["expected"] as List<*>, reasons.map { it.code.name }, why)
                    (c["expected_labels"] as List<*>?)?.let { assertEquals(it, reasons.map { r -> r.label }) }
                }
                "session" -> {
                    @Suppress("UNCHECKED_CAST")
                    val held = sessionHeld(c["session_dates"] as List<String>, c["today"] as String)
                    assertEquals(c["expected_held"] as Boolean, held, why)
                }
                else -> error("kind ${c["kind"]}")
            }
        }
    }
    finish()
}
