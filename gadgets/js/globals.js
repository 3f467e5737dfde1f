/*
 * The namespaces every other feature hangs its API on. Kept if a page
 * already defined them, so two feature scripts can share one page.
 */
var gadgets = window.gadgets || {};
var shindig = window.shindig || {};
var osapi = window.osapi || {};
window.gadgets = gadgets;
window.shindig = shindig;
window.osapi = osapi;
