package id.posyandu.app.ui

import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.produceState
import androidx.navigation.NavHostController
import id.posyandu.app.logic.PosyanduGateway
import id.posyandu.app.logic.StoreHolder
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext

private sealed interface Opened {
    data object Opening : Opened
    data object NotSetUp : Opened
    data class Ready(val gw: PosyanduGateway) : Opened
}

/** Opens the store off the main thread (first call opens SQLite), then shows [content]. */
@Composable
fun GatewayScreen(stores: StoreHolder, nav: NavHostController, content: @Composable (PosyanduGateway) -> Unit) {
    val opened by produceState<Opened>(Opened.Opening, stores) {
        value = withContext(Dispatchers.IO) { stores.gatewayOrNull() }?.let { Opened.Ready(it) } ?: Opened.NotSetUp
    }
    when (val o = opened) {
        Opened.Opening -> Loading()
        Opened.NotSetUp -> LaunchedEffect(Unit) { nav.navigate("settings") }
        is Opened.Ready -> content(o.gw)
    }
}
