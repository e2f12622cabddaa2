package id.posyandu.app.ui

import androidx.compose.runtime.Composable
import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import androidx.lifecycle.viewmodel.compose.viewModel
import androidx.lifecycle.viewmodel.initializer
import androidx.lifecycle.viewmodel.viewModelFactory
import kotlinx.coroutines.CoroutineScope

/** Android ViewModel that owns one plain-Kotlin view model from `logic/` (survives rotation). */
class LogicVmHolder<T : Any>(create: (CoroutineScope) -> T) : ViewModel() {
    val vm: T = create(viewModelScope)
}

@Composable
fun <T : Any> rememberLogicVm(key: String, create: (CoroutineScope) -> T): T {
    val holder: LogicVmHolder<T> = viewModel(
        key = key,
        factory = viewModelFactory { initializer { LogicVmHolder(create) } },
    )
    return holder.vm
}
