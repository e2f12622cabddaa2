// Plain Kotlin/JVM module: view models, use cases, formatting. No Android imports,
// so everything here is tested on the host JVM against the real Rust core.
import org.gradle.api.tasks.Exec

plugins {
    id("org.jetbrains.kotlin.jvm")
}

kotlin {
    jvmToolchain(17)
}

val workspaceDir: File = rootProject.file(providers.gradleProperty("posyandu.workspaceDir").getOrElse(".."))
val cargoTarget: File = File(System.getenv("CARGO_TARGET_DIR") ?: workspaceDir.resolve("target").path)
val hostLib: File = cargoTarget.resolve("release/libposyandu_bindings.so") // .dylib on macOS hosts
val generatedUniffi: Provider<Directory> = layout.buildDirectory.dir("generated/uniffi/kotlin")

// 1. Host build of the bindings (the .so is only used to read the uniffi metadata
//    and by the JVM tests; the APK gets the Android .so files from cargo-ndk).
val cargoBuildBindings by tasks.registering(Exec::class) {
    group = "uniffi"
    description = "cargo build --release -p posyandu-bindings (host)"
    workingDir = workspaceDir
    commandLine("cargo", "build", "--release", "-p", "posyandu-bindings", "--lib", "--bin", "uniffi-bindgen")
    outputs.file(hostLib)
    outputs.upToDateWhen { false } // cargo itself decides what to rebuild
}

// 2. Kotlin bindings (package id.posyandu.sync) generated into build/, compiled as
//    part of this module; the app gets them transitively.
val generateUniffiKotlin by tasks.registering(Exec::class) {
    group = "uniffi"
    description = "uniffi-bindgen generate ... --language kotlin"
    dependsOn(cargoBuildBindings)
    inputs.file(hostLib)
    outputs.dir(generatedUniffi)
    doFirst { generatedUniffi.get().asFile.deleteRecursively() }
    commandLine(
        cargoTarget.resolve("release/uniffi-bindgen").path, "generate", hostLib.path,
        "--language", "kotlin", "--no-format", "--out-dir", generatedUniffi.get().asFile.path,
    )
}

kotlin.sourceSets["main"].kotlin.srcDir(generatedUniffi)
tasks.named("compileKotlin") { dependsOn(generateUniffiKotlin) }

dependencies {
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.8.1")
    // The generated bindings use JNA. On Android the app adds jna@aar (with the native
    // dispatcher for each ABI); here it is compile-only so the jar does not clash.
    compileOnly("net.java.dev.jna:jna:5.14.0")
    testImplementation("net.java.dev.jna:jna:5.14.0")
    testImplementation(kotlin("test"))
}

// The tests are `fun main()` programs with a tiny runner (same as android-demo/run-jvm-tests.sh).
val viewModelTests by tasks.registering(JavaExec::class) {
    group = "verification"
    description = "View model tests against the real Rust core (host JVM)"
    dependsOn(cargoBuildBindings)
    classpath = sourceSets["test"].runtimeClasspath
    mainClass.set("id.posyandu.app.logic.ViewModelTests")
    jvmArgs("-ea")
    systemProperty("jna.library.path", hostLib.parentFile.path)
    systemProperty("uniffi.component.posyandu_bindings.libraryOverride", hostLib.path)
}
// The ILP screens' view models (issue 12): a second test program, run the same way.
val ilpViewModelTests by tasks.registering(JavaExec::class) {
    group = "verification"
    description = "ILP view model tests (referrals, birth, member status, ASI eksklusif) against the real Rust core"
    dependsOn(cargoBuildBindings)
    classpath = sourceSets["test"].runtimeClasspath
    mainClass.set("id.posyandu.app.logic.ilp.IlpViewModelTests")
    jvmArgs("-ea")
    systemProperty("jna.library.path", hostLib.parentFile.path)
    systemProperty("uniffi.component.posyandu_bindings.libraryOverride", hostLib.path)
}
tasks.named("check") { dependsOn(viewModelTests, ilpViewModelTests) }
