package id.posyandu.app

import android.content.Context
import android.content.SharedPreferences
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import android.util.Base64
import id.posyandu.sync.KeyProvider
import id.posyandu.sync.KeyProviderException
import java.security.KeyStore
import java.security.SecureRandom
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * The store's encryption key and the device token, protected by the Android Keystore.
 *
 * The database key is 32 random bytes made once, kept in app-private
 * SharedPreferences only wrapped (AES-256-GCM) by a non-exportable key that lives in
 * the `AndroidKeyStore` (hardware-backed where the phone has it). Secrets (the relay
 * token) are wrapped the same way. No user authentication is required, so the
 * WorkManager worker can open the store in the background. Nothing here is backed up
 * (`allowBackup="false"`, data extraction rules): a restored or copied store file is
 * unreadable without this phone's Keystore key, by design (the data is on the relay).
 */
class AndroidKeyProvider(context: Context) : KeyProvider {
    private val prefs: SharedPreferences =
        context.applicationContext.getSharedPreferences(PREFS, Context.MODE_PRIVATE)

    @Synchronized
    override fun databaseKey(): ByteArray = guarded("kunci basis data") {
        prefs.getString(DB_KEY, null)?.let { return@guarded unwrap(it) }
        val key = ByteArray(32).also { SecureRandom().nextBytes(it) }
        // commit(), not apply(): the key must be on disk before the store is encrypted with it.
        check(prefs.edit().putString(DB_KEY, wrap(key)).commit()) { "gagal menyimpan kunci" }
        key
    }

    @Synchronized
    override fun readSecret(name: String): String? = guarded("rahasia $name") {
        prefs.getString(SECRET_PREFIX + name, null)?.let { String(unwrap(it), Charsets.UTF_8) }
    }

    @Synchronized
    override fun writeSecret(name: String, value: String?) = guarded("rahasia $name") {
        val edit = prefs.edit()
        if (value == null) edit.remove(SECRET_PREFIX + name)
        else edit.putString(SECRET_PREFIX + name, wrap(value.toByteArray(Charsets.UTF_8)))
        check(edit.commit()) { "gagal menyimpan" }
    }

    /** Any failure (Keystore unavailable, data tampered) comes back as a KeyProviderException. */
    private inline fun <T> guarded(what: String, body: () -> T): T =
        try {
            body()
        } catch (e: KeyProviderException) {
            throw e
        } catch (e: Exception) {
            throw KeyProviderException.Failed("$what: ${e.javaClass.simpleName}: ${e.message ?: ""}")
        }

    private fun wrappingKey(): SecretKey {
        val ks = KeyStore.getInstance(KEYSTORE).apply { load(null) }
        (ks.getKey(ALIAS, null) as? SecretKey)?.let { return it }
        val gen = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, KEYSTORE)
        gen.init(
            KeyGenParameterSpec.Builder(ALIAS, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                .setKeySize(256)
                .build()
        )
        return gen.generateKey()
    }

    /** base64(iv || ciphertext+tag); the Keystore chooses the IV. */
    private fun wrap(plain: ByteArray): String {
        val c = Cipher.getInstance(TRANSFORMATION)
        c.init(Cipher.ENCRYPT_MODE, wrappingKey())
        return Base64.encodeToString(c.iv + c.doFinal(plain), Base64.NO_WRAP)
    }

    private fun unwrap(stored: String): ByteArray {
        val all = Base64.decode(stored, Base64.NO_WRAP)
        require(all.size > IV_BYTES) { "data kunci rusak" }
        val c = Cipher.getInstance(TRANSFORMATION)
        c.init(Cipher.DECRYPT_MODE, wrappingKey(), GCMParameterSpec(128, all, 0, IV_BYTES))
        return c.doFinal(all, IV_BYTES, all.size - IV_BYTES)
    }

    private companion object {
        const val KEYSTORE = "AndroidKeyStore"
        const val ALIAS = "posyandu-store-wrap"
        const val TRANSFORMATION = "AES/GCM/NoPadding"
        const val IV_BYTES = 12
        const val PREFS = "posyandu_keys"
        const val DB_KEY = "db_key"
        const val SECRET_PREFIX = "secret."
    }
}
