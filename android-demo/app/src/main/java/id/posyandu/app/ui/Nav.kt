package id.posyandu.app.ui

import androidx.compose.foundation.layout.padding
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.filled.DateRange
import androidx.compose.material.icons.filled.Home
import androidx.compose.material.icons.filled.List
import androidx.compose.material.icons.filled.Send
import androidx.compose.material.icons.filled.Settings
import androidx.compose.material.icons.filled.Warning
import androidx.compose.material3.Icon
import androidx.compose.material3.NavigationBar
import androidx.compose.material3.NavigationBarItem
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.vector.ImageVector
import androidx.compose.ui.res.stringResource
import androidx.navigation.NavHostController
import androidx.navigation.compose.NavHost
import androidx.navigation.compose.composable
import androidx.navigation.compose.currentBackStackEntryAsState
import androidx.navigation.compose.rememberNavController
import id.posyandu.app.R
import id.posyandu.app.logic.StoreHolder

private data class Tab(val route: String, val label: Int, val icon: ImageVector)

private val tabs = listOf(
    Tab("households", R.string.tab_households, Icons.Filled.Home),
    Tab("month", R.string.tab_month, Icons.Filled.DateRange),
    Tab("due", R.string.tab_due, Icons.Filled.List),
    Tab("conflicts", R.string.tab_conflicts, Icons.Filled.Warning),
    Tab("spm", R.string.tab_spm, Icons.Filled.Send),
    Tab("settings", R.string.tab_settings, Icons.Filled.Settings),
)

/**
 * Routes: households, new-household, household/{id}, member/new/{id}, pregnancy/new/{id},
 * visit/{id}, visit/{id}/edit/{visitId}, month, due, conflicts, conflicts/{id}, spm, settings;
 * ILP (issue 12): referrals/{id}, birth/new/{id}, member-status/{id}.
 * Until the phone is set up (no store file yet) only the settings screen is shown.
 */
@Composable
fun PosyanduNavHost(stores: StoreHolder) {
    val nav = rememberNavController()
    val entry by nav.currentBackStackEntryAsState()
    val route = entry?.destination?.route
    Scaffold(
        bottomBar = {
            if (route in tabs.map { it.route }) NavigationBar {
                tabs.forEach { t ->
                    NavigationBarItem(
                        selected = route == t.route,
                        onClick = { nav.navigateTab(t.route) },
                        icon = { Icon(t.icon, contentDescription = null) },
                        label = { Text(stringResource(t.label)) },
                    )
                }
            }
        },
    ) { pad ->
        NavHost(nav, startDestination = if (stores.isSetUp) "households" else "settings", modifier = Modifier.padding(pad)) {
            composable("settings") {
                SettingsScreen(stores, onDone = { nav.navigateTab("households") })
            }
            composable("households") {
                GatewayScreen(stores, nav) { gw ->
                    HouseholdListScreen(gw, onOpen = { nav.navigate("household/$it") }, onOpenSettings = { nav.navigateTab("settings") },
                        onAddHousehold = { nav.navigate("new-household") })
                }
            }
            // Own route (not "household/new") so it never competes with "household/{id}".
            composable("new-household") {
                GatewayScreen(stores, nav) { gw ->
                    AddHouseholdScreen(gw, onBack = { nav.popBackStack() }, onSaved = { id ->
                        // Replace the form by the new household's detail (next step: its members).
                        nav.navigate("household/$id") { popUpTo("new-household") { inclusive = true } }
                    })
                }
            }
            composable("household/{id}") { e ->
                val id = e.arguments?.getString("id").orEmpty()
                GatewayScreen(stores, nav) { gw ->
                    HouseholdDetailScreen(gw, id, onBack = { nav.popBackStack() },
                        onRecordVisit = { nav.navigate("visit/$id") }, onConflicts = { nav.navigate("conflicts/$id") },
                        onAddMember = { nav.navigate("member/new/$id") }, onRecordPregnancy = { nav.navigate("pregnancy/new/$id") },
                        onEditVisit = { visitId -> nav.navigate("visit/$id/edit/$visitId") },
                        onReferrals = { nav.navigate("referrals/$id") }, onRecordBirth = { nav.navigate("birth/new/$id") },
                        onMemberStatus = { nav.navigate("member-status/$id") })
                }
            }
            composable("member/new/{id}") { e ->
                val id = e.arguments?.getString("id").orEmpty()
                // Back to the detail, which refreshes and shows the new member with life stage.
                GatewayScreen(stores, nav) { gw -> AddMemberScreen(gw, id, onBack = { nav.popBackStack() }, onSaved = { nav.popBackStack() }) }
            }
            composable("pregnancy/new/{id}") { e ->
                val id = e.arguments?.getString("id").orEmpty()
                GatewayScreen(stores, nav) { gw -> PregnancyScreen(gw, id, onBack = { nav.popBackStack() }, onSaved = { nav.popBackStack() }) }
            }
            composable("visit/{id}") { e ->
                val id = e.arguments?.getString("id").orEmpty()
                GatewayScreen(stores, nav) { gw -> RecordVisitScreen(gw, id, onDone = { nav.popBackStack() }) }
            }
            composable("visit/{id}/edit/{visitId}") { e ->
                val id = e.arguments?.getString("id").orEmpty()
                val visitId = e.arguments?.getString("visitId").orEmpty()
                GatewayScreen(stores, nav) { gw -> RecordVisitScreen(gw, id, onDone = { nav.popBackStack() }, visitId = visitId) }
            }
            composable("referrals/{id}") { e ->
                val id = e.arguments?.getString("id").orEmpty()
                GatewayScreen(stores, nav) { gw -> ReferralsScreen(gw, id, onBack = { nav.popBackStack() }) }
            }
            composable("birth/new/{id}") { e ->
                val id = e.arguments?.getString("id").orEmpty()
                GatewayScreen(stores, nav) { gw -> BirthScreen(gw, id, onBack = { nav.popBackStack() }, onSaved = { nav.popBackStack() }) }
            }
            composable("member-status/{id}") { e ->
                val id = e.arguments?.getString("id").orEmpty()
                GatewayScreen(stores, nav) { gw -> MemberStatusScreen(gw, id, onBack = { nav.popBackStack() }, onSaved = { nav.popBackStack() }) }
            }
            composable("month") {
                GatewayScreen(stores, nav) { gw -> MonthScreen(gw, onOpen = { nav.navigate("household/$it") }) }
            }
            composable("due") {
                GatewayScreen(stores, nav) { gw -> DueListScreen(gw, onOpen = { nav.navigate("household/$it") }) }
            }
            composable("conflicts") {
                GatewayScreen(stores, nav) { gw -> ConflictsScreen(gw, householdId = null, onBack = null) }
            }
            composable("spm") {
                GatewayScreen(stores, nav) { gw -> SpmScreen(gw) }
            }
            composable("conflicts/{id}") { e ->
                val id = e.arguments?.getString("id")
                GatewayScreen(stores, nav) { gw -> ConflictsScreen(gw, householdId = id, onBack = { nav.popBackStack() }) }
            }
        }
    }
}

private fun NavHostController.navigateTab(route: String) = navigate(route) {
    popUpTo(graph.startDestinationId) { saveState = true }
    launchSingleTop = true
    restoreState = true
}
