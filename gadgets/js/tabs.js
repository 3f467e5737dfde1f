/*
 * gadgets.TabSet and gadgets.Tab: a row of tabs, each showing one content
 * element and hiding the others.
 *
 *   var tabs = new gadgets.TabSet(moduleId, 'Feeds');
 *   tabs.addTab('Feeds', {contentContainer: 'feeds', callback: onShow});
 *
 * The header is a table (classes tablib_*, styled by the CSS lines in
 * config "tabs") placed at the top of the body, or in opt_container. With
 * the setprefs feature, the index of the selected tab is saved in the pref
 * "selectedTab" and selected again on the next visit.
 */
(function () {
  var cssLines = [];

  gadgets.config.register('tabs', null, function (config) {
    cssLines = (config.tabs || {}).css || [];
  });

  function element(idOrElement) {
    return typeof idOrElement === 'string' ?
        document.getElementById(idOrElement) : idOrElement || null;
  }

  gadgets.Tab = function (tabSet, name) {
    this.tabSet_ = tabSet;
    this.name_ = name;
    this.index_ = -1;
    this.nameContainer_ = null;
    this.contentContainer_ = null;
    this.callback_ = null;
    this.tooltip_ = '';
  };

  var tab = gadgets.Tab.prototype;
  tab.getName = function () { return this.name_; };
  tab.getNameContainer = function () { return this.nameContainer_; };
  tab.getContentContainer = function () { return this.contentContainer_; };
  tab.getCallback = function () { return this.callback_; };
  tab.getIndex = function () { return this.index_; };
  tab.getTooltip = function () { return this.tooltip_; };

  gadgets.TabSet = function (opt_moduleId, opt_defaultTab, opt_container) {
    this.moduleId_ = opt_moduleId || new gadgets.Prefs().getModuleId() || 0;
    this.defaultTab_ = opt_defaultTab;
    this.tabs_ = [];
    this.selected_ = null;
    this.prefs_ = new gadgets.Prefs();
    gadgets.util.addCss_('tablib_css', cssLines);
    this.build_(element(opt_container));
  };

  var proto = gadgets.TabSet.prototype;

  proto.build_ = function (container) {
    var body = gadgets.util.getBodyElement();
    this.header_ = document.createElement('div');
    this.header_.id = 'tl_' + this.moduleId_;
    this.table_ = document.createElement('table');
    this.table_.className = 'tablib_table';
    this.row_ = this.table_.insertRow(-1);
    this.leftSpacer_ = this.row_.insertCell(-1);
    this.rightSpacer_ = this.row_.insertCell(-1);
    this.leftSpacer_.className = this.rightSpacer_.className = 'tablib_emptyTab';
    this.leftSpacer_.innerHTML = this.rightSpacer_.innerHTML = '&nbsp;';
    this.header_.appendChild(this.table_);
    this.contents_ = document.createElement('div');
    this.contents_.className = 'tablib_contents';
    var parent = container || body;
    parent.insertBefore(this.contents_, container ? null : body.firstChild);
    parent.insertBefore(this.header_, this.contents_);
    this.alignTabs('left');
  };

  proto.wantedIndex_ = function () {
    var saved = this.prefs_.getString('selectedTab');
    if (gadgets.Prefs.canSet_ && /^[0-9]+$/.test(saved)) {
      return parseInt(saved, 10);
    }
    if (typeof this.defaultTab_ === 'number') {
      return this.defaultTab_;
    }
    for (var i = 0; i < this.tabs_.length; i++) {
      if (this.tabs_[i].name_ === this.defaultTab_) {
        return i;
      }
    }
    return 0;
  };

  proto.options_ = function (params, callback) {
    if (typeof params === 'string') {
      return {contentContainer: params, callback: callback};
    }
    return params || {};
  };

  proto.addTab = function (name, opt_params, opt_callback) {
    var params = this.options_(opt_params, opt_callback);
    var newTab = new gadgets.Tab(this, name);
    newTab.callback_ = params.callback || null;
    newTab.tooltip_ = params.tooltip || '';
    newTab.contentContainer_ = element(params.contentContainer);
    if (!newTab.contentContainer_) {
      newTab.contentContainer_ = document.createElement('div');
      this.contents_.appendChild(newTab.contentContainer_);
    }
    newTab.contentContainer_.style.display = 'none';
    newTab.nameContainer_ = this.makeHeaderCell_(newTab);
    var index = typeof params.index === 'number' ?
        Math.max(0, Math.min(params.index, this.tabs_.length)) : this.tabs_.length;
    this.tabs_.splice(index, 0, newTab);
    this.redraw_();
    if (!this.selected_ || index === this.wantedIndex_()) {
      this.select_(newTab, false);
    }
    return newTab.nameContainer_.id;
  };

  proto.makeHeaderCell_ = function (newTab) {
    var cell = document.createElement('td');
    cell.id = this.moduleId_ + '_tab_' + (gadgets.TabSet.nextId_++);
    cell.className = 'tablib_unselected';
    cell.innerHTML = newTab.name_;
    if (newTab.tooltip_) {
      cell.title = newTab.tooltip_;
    }
    var self = this;
    cell.onclick = function () {
      self.select_(newTab, true);
    };
    return cell;
  };

  gadgets.TabSet.nextId_ = 0;

  proto.redraw_ = function () {
    while (this.row_.cells.length > 2) {
      this.row_.deleteCell(1);
    }
    for (var i = 0; i < this.tabs_.length; i++) {
      this.tabs_[i].index_ = i;
      if (i > 0) {
        var spacer = document.createElement('td');
        spacer.className = 'tablib_spacerTab';
        this.row_.insertBefore(spacer, this.rightSpacer_);
      }
      this.row_.insertBefore(this.tabs_[i].nameContainer_, this.rightSpacer_);
    }
  };

  proto.select_ = function (chosen, isUserChoice) {
    for (var i = 0; i < this.tabs_.length; i++) {
      var isChosen = this.tabs_[i] === chosen;
      this.tabs_[i].nameContainer_.className =
          isChosen ? 'tablib_selected' : 'tablib_unselected';
      this.tabs_[i].contentContainer_.style.display = isChosen ? '' : 'none';
    }
    this.selected_ = chosen;
    if (isUserChoice && gadgets.Prefs.canSet_) {
      this.prefs_.set('selectedTab', String(chosen.index_));
    }
    if (chosen.callback_) {
      chosen.callback_(chosen.nameContainer_.id);
    }
  };

  proto.removeTab = function (index) {
    var removed = this.tabs_[index];
    if (!removed) {
      return;
    }
    this.tabs_.splice(index, 1);
    this.row_.removeChild(removed.nameContainer_);
    if (removed.contentContainer_.parentNode === this.contents_) {
      this.contents_.removeChild(removed.contentContainer_);
    }
    this.redraw_();
    if (this.selected_ === removed) {
      this.selected_ = null;
      if (this.tabs_.length) {
        this.select_(this.tabs_[0], false);
      }
    }
  };

  proto.getSelectedTab = function () {
    return this.selected_;
  };

  proto.setSelectedTab = function (index) {
    if (this.tabs_[index]) {
      this.select_(this.tabs_[index], true);
    }
  };

  proto.swapTabs = function (index1, index2) {
    var first = this.tabs_[index1];
    var second = this.tabs_[index2];
    if (!first || !second) {
      return;
    }
    this.tabs_[index1] = second;
    this.tabs_[index2] = first;
    this.redraw_();
  };

  proto.getTabs = function () {
    return this.tabs_.slice();
  };

  proto.alignTabs = function (align, opt_offset) {
    var offset = (opt_offset === undefined ? 3 : opt_offset) + 'px';
    var left = align === 'center' ? '50%' : align === 'right' ? '100%' : offset;
    var right = align === 'center' ? '50%' : align === 'right' ? offset : '100%';
    this.leftSpacer_.style.width = left;
    this.rightSpacer_.style.width = right;
  };

  proto.displayTabs = function (isShown) {
    this.header_.style.display = isShown ? '' : 'none';
  };

  proto.getHeaderContainer = function () {
    return this.header_;
  };
})();
