/*
 * analytics: iGoogle's page-view tracking, accepted and ignored. Gadgets
 * that call _IG_Analytics or gadgets.analytics keep working; nothing is
 * sent anywhere.
 */
window._IG_Analytics = function () {};

gadgets.analytics = function () {};
gadgets.analytics.prototype.reportPageview = function () {};
gadgets.analytics.prototype.reportEvent = function () {};
window._IG_GA = gadgets.analytics;
