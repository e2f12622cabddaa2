package id.posyandu.app.logic

/**
 * A tiny test runner (no JUnit needed on the host JVM): `test("name") { … }` counts
 * one case; failures are printed with their stack trace; [Skip] marks a skipped case.
 */
class Skip(msg: String) : Exception(msg)

object TestRunner {
    var passed = 0
    var failed = 0
    var skipped = 0
    val failures = mutableListOf<String>()

    fun test(name: String, body: () -> Unit) {
        val t0 = System.nanoTime()
        try {
            body()
            passed++
            println("  ok    $name (${(System.nanoTime() - t0) / 1_000_000} ms)")
        } catch (s: Skip) {
            skipped++
            println("  skip  $name: ${s.message}")
        } catch (t: Throwable) {
            failed++
            failures += name
            println("  FAIL  $name: $t")
            t.printStackTrace(System.out)
        }
    }

    /** Prints the summary line parsed by run-jvm-tests.sh. */
    fun summary(suite: String): Int {
        if (failures.isNotEmpty()) println("failed: ${failures.joinToString("; ")}")
        println("$suite: $passed passed, $failed failed, $skipped skipped")
        return if (failed == 0 && passed > 0) 0 else 1
    }
}
