package id.posyandu.app.logic

import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.withContext

/**
 * Base of the plain-Kotlin view models: immutable [state] in a [StateFlow], actions
 * return a `Job` (the Android wrapper ignores it; tests `join()` it). All gateway
 * calls run on [io] (`Dispatchers.IO` in the app) because the bindings block.
 *
 * [scope] is the Android `viewModelScope` in the app and a test scope on the JVM.
 */
abstract class LogicViewModel<S>(
    initial: S,
    protected val scope: CoroutineScope,
    private val io: CoroutineDispatcher = Dispatchers.IO,
) {
    private val _state = MutableStateFlow(initial)
    val state: StateFlow<S> = _state.asStateFlow()

    /** Current value (handy for tests and event handlers). */
    val current: S get() = _state.value

    protected fun update(f: (S) -> S) = _state.update(f)

    protected suspend fun <T> onIo(block: () -> T): T = withContext(io) { block() }
}
