/*
 * gadgets.window.setTitle: ask the container (rpc "set_title") to show a
 * new title above the gadget.
 */
gadgets.window = gadgets.window || {};

gadgets.window.setTitle = function (title) {
  gadgets.rpc.call(null, 'set_title', null, String(title));
};
