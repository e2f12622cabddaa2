package id.posyandu.app.logic

import id.posyandu.sync.KeyProvider
import java.io.File
import java.security.SecureRandom
import java.util.concurrent.ConcurrentHashMap

/**
 * The app's key storage for the JVM tests: a random key and the secrets in memory
 * (on a phone: `AndroidKeyProvider`, the Android Keystore). One per store directory,
 * so a store reopened in the same test run gets the same key and device token.
 */
class TestKeys : KeyProvider {
    private val key = ByteArray(32).also { SecureRandom().nextBytes(it) }
    val secrets = ConcurrentHashMap<String, String>()
    override fun databaseKey(): ByteArray = key.copyOf()
    override fun readSecret(name: String): String? = secrets[name]
    override fun writeSecret(name: String, value: String?) {
        if (value == null) secrets.remove(name) else secrets[name] = value
    }
}

private val keysByDir = ConcurrentHashMap<String, TestKeys>()

fun testKeys(dir: File): TestKeys = keysByDir.getOrPut(dir.canonicalPath) { TestKeys() }
