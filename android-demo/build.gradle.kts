// Root build: plugin versions pinned here, applied in the modules.
plugins {
    id("com.android.application") version "8.5.2" apply false
    id("org.jetbrains.kotlin.android") version "2.0.21" apply false
    id("org.jetbrains.kotlin.jvm") version "2.0.21" apply false
    // Kotlin 2.0: the Compose compiler ships with Kotlin as this plugin.
    id("org.jetbrains.kotlin.plugin.compose") version "2.0.21" apply false
}
