// Shared runner for the golden vectors in tests/golden/<area>.json: the same inputs
// and expected outputs that the Rust tests (core/tests/golden_*.rs) and the Python
// binding tests (bindings/tests/python/test_golden_*.py) run, here through the Kotlin
// bindings. Each area has its own file `Golden<Area>.kt` (package golden.<area>) with a
// `main` that calls `test(...)` per case and ends with `finish("kotlin")`.
//
// The directory is POSYANDU_GOLDEN_DIR (set by bindings/run-jvm-tests.sh), else
// tests/golden found by walking up from the working directory.
@file:JvmName("GoldenSupport")

package golden

import java.nio.file.Files
import java.nio.file.Path
import java.nio.file.Paths
import kotlin.system.exitProcess

private var passed = 0
private var failed = 0

/** Runs one case; a thrown exception or failed assertion is a failure, printed with its name. */
fun test(name: String, body: () -> Unit) {
    try {
        body()
        passed++
        println("  ok    $name")
    } catch (t: Throwable) {
        failed++
        println("  FAIL  $name: $t")
    }
}

/** Prints the count line the script reads (`kotlin: N passed, N failed, 0 skipped`) and exits. */
fun finish(lang: String = "kotlin"): Nothing {
    println("$lang: $passed passed, $failed failed, 0 skipped")
    exitProcess(if (failed == 0 && passed > 0) 0 else 1)
}

fun goldenDir(): Path {
    System.getenv("POSYANDU_GOLDEN_DIR")?.takeIf { it.isNotBlank() }?.let { return Paths.get(it) }
    var d: Path? = Paths.get("").toAbsolutePath()
    while (d != null) {
        val g = d.resolve("tests").resolve("golden")
        if (Files.isDirectory(g)) return g
        d = d.parent
    }
    error("tests/golden not found: set POSYANDU_GOLDEN_DIR")
}

/** The `cases` of tests/golden/<area>.json. */
@Suppress("UNCHECKED_CAST")
fun goldenCases(area: String): List<Map<String, Any?>> {
    val root = parseJson(String(Files.readAllBytes(goldenDir().resolve("$area.json")), Charsets.UTF_8)) as Map<String, Any?>
    val cases = root["cases"] as List<Map<String, Any?>>
    check(cases.isNotEmpty()) { "$area.json has no cases" }
    return cases
}

/** A small strict JSON reader: objects -> Map (insertion order), arrays -> List, numbers -> Double. */
fun parseJson(text: String): Any? {
    val p = JsonParser(text)
    val v = p.value()
    p.ws()
    check(p.i == text.length) { "trailing characters at ${p.i}" }
    return v
}

private class JsonParser(val s: String) {
    var i = 0
    fun ws() { while (i < s.length && s[i].isWhitespace()) i++ }
    fun value(): Any? {
        ws()
        check(i < s.length) { "unexpected end of JSON" }
        return when (val c = s[i]) {
            '{' -> obj()
            '[' -> arr()
            '"' -> str()
            't' -> lit("true", true)
            'f' -> lit("false", false)
            'n' -> lit("null", null)
            else -> if (c == '-' || c.isDigit()) num() else error("unexpected '$c' at $i")
        }
    }
    fun lit(word: String, v: Any?): Any? {
        check(s.startsWith(word, i)) { "bad literal at $i" }
        i += word.length
        return v
    }
    fun num(): Double {
        val start = i
        while (i < s.length && (s[i].isDigit() || s[i] in "+-.eE")) i++
        return s.substring(start, i).toDouble()
    }
    fun str(): String {
        i++
        val b = StringBuilder()
        while (true) {
            check(i < s.length) { "unterminated string" }
            val c = s[i++]
            when (c) {
                '"' -> return b.toString()
                '\\' -> {
                    when (val e = s[i++]) {
                        'n' -> b.append('\n'); 't' -> b.append('\t'); 'r' -> b.append('\r')
                        'b' -> b.append('\b'); 'f' -> b.append('\u000C')
                        'u' -> { b.append(s.substring(i, i + 4).toInt(16).toChar()); i += 4 }
                        else -> b.append(e)
                    }
                }
                else -> b.append(c)
            }
        }
    }
    fun arr(): List<Any?> {
        i++
        val out = ArrayList<Any?>()
        ws()
        if (s[i] == ']') { i++; return out }
        while (true) {
            out.add(value())
            ws()
            when (s[i++]) { ',' -> continue; ']' -> return out; else -> error("expected , or ] at ${i - 1}") }
        }
    }
    fun obj(): Map<String, Any?> {
        i++
        val out = LinkedHashMap<String, Any?>()
        ws()
        if (s[i] == '}') { i++; return out }
        while (true) {
            ws()
            val k = str()
            ws()
            check(s[i++] == ':') { "expected : at ${i - 1}" }
            out[k] = value()
            ws()
            when (s[i++]) { ',' -> continue; '}' -> return out; else -> error("expected , or } at ${i - 1}") }
        }
    }
}

/** Typed accessors for a case map. */
fun Map<String, Any?>.str(k: String): String = this[k] as? String ?: error("case field '$k' is not a string")
fun Map<String, Any?>.strOrNull(k: String): String? = this[k] as String?
fun Map<String, Any?>.num(k: String): Double = (this[k] as? Double) ?: error("case field '$k' is not a number")
fun Map<String, Any?>.numOrNull(k: String): Double? = this[k] as Double?
@Suppress("UNCHECKED_CAST")
fun Map<String, Any?>.obj(k: String): Map<String, Any?> = this[k] as? Map<String, Any?> ?: error("case field '$k' is not an object")
@Suppress("UNCHECKED_CAST")
fun Map<String, Any?>.list(k: String): List<Any?> = this[k] as? List<Any?> ?: error("case field '$k' is not a list")
