import {Component, onWillStart, useExternalListener, useState} from "@odoo/owl";
import {_t} from "@web/core/l10n/translation";
import {registry} from "@web/core/registry";
import {useService} from "@web/core/utils/hooks";
import {useSetupAction} from "@web/search/action_hook";
import {Layout} from "@web/search/layout";
import {standardActionServiceProps} from "@web/webclient/actions/action_service";

const MIN_SIZE = 6; // points
const GEOMETRY_KEYS = ["page", "x0", "y0", "width", "height"];
const VALUE_KEYS = [...GEOMETRY_KEYS, "kind", "role", "participant_id", "mandatory"];

function clamp(value, low, high) {
  return Math.min(Math.max(value, low), high);
}

function round2(value) {
  return Math.round(value * 100) / 100;
}

/**
 * The visual "Count signatures": every page of the document with its places drawn on it.
 * Places are moved by dragging (or with the arrow keys, Shift for 10 points), resized from
 * their corner, added by choosing a kind and clicking on a page, and assigned or marked
 * mandatory in the side panel. Nothing is written until Save (or leaving the editor), which
 * sends every change in one call (one transaction, the server's constraints applied).
 */
export class PlacesEditor extends Component {
  static template = "digital_sign.PlacesEditor";
  static components = {Layout};
  static props = {...standardActionServiceProps};
  static path = "digital-sign-places";

  setup() {
    this.orm = useService("orm");
    this.action = useService("action");
    this.notification = useService("notification");
    // The places of a document (digital.sign.field) or of a template
    // (digital.sign.template): both models answer the same two calls.
    const params = this.props.action.params || {};
    this.templateId = params.template_id || false;
    this.requestId = this.templateId
      ? false
      : params.request_id || this.props.action.context?.active_id;
    this.rpcModel = this.templateId ? "digital.sign.template" : "digital.sign.field";
    this.targetId = this.templateId || this.requestId;
    this.state = useState({
      data: null,
      places: [],
      removed: [],
      selected: null,
      addKind: null,
      saving: false,
    });
    this.drag = null;
    this.newKey = 0;
    // Like a form view: leaving saves the changes (a refused save keeps the user here),
    // and closing the tab with unsaved changes asks first.
    useSetupAction({
      beforeLeave: () => (this.dirty ? this.save() : undefined),
      beforeUnload: (ev) => {
        if (this.dirty) {
          ev.preventDefault();
          ev.returnValue = "";
        }
      },
    });
    useExternalListener(window, "pointermove", this.onPointerMove);
    useExternalListener(window, "pointerup", this.onPointerUp);
    onWillStart(() => this.load());
  }

  // --- Data -------------------------------------------------------------------------------
  async load(data) {
    data =
      data ||
      (await this.orm.call(this.rpcModel, "get_places_editor_data", [this.targetId]));
    this.state.data = data;
    this.state.places = data.places.map((place) => ({
      ...place,
      key: `f${place.id}`,
      saved: {...place},
    }));
    this.state.removed = [];
    this.state.selected = null;
    this.state.addKind = null;
  }

  get editable() {
    return this.state.data?.editable;
  }

  get selectedPlace() {
    return this.state.places.find((place) => place.key === this.state.selected) || null;
  }

  get dirty() {
    return (
      this.state.removed.length > 0 ||
      this.state.places.some(
        (place) =>
          !place.id || VALUE_KEYS.some((key) => place[key] !== place.saved[key])
      )
    );
  }

  placesOf(pageNumber) {
    return this.state.places.filter((place) => place.page === pageNumber);
  }

  pageOf(place) {
    return this.state.data.pages[place.page - 1];
  }

  boxStyle(place) {
    const page = this.pageOf(place);
    const pct = (value, total) => `${((100 * value) / total).toFixed(4)}%`;
    return [
      `left:${pct(place.x0, page.width)}`,
      `top:${pct(place.y0, page.height)}`,
      `width:${pct(place.width, page.width)}`,
      `height:${pct(place.height, page.height)}`,
    ].join(";");
  }

  participantName(place) {
    const participant = this.state.data.participants.find(
      (p) => p.id === place.participant_id
    );
    return participant ? participant.name : place.role || _t("Unassigned");
  }

  kindLabel(kind) {
    return (this.state.data.kinds.find(([key]) => key === kind) || [kind, kind])[1];
  }

  /** What was found per page and role: the "count" of Count signatures. */
  get summary() {
    const rows = new Map();
    for (const place of this.state.places) {
      const who = this.participantName(place);
      const key = `${place.page}\u0000${who}`;
      const row = rows.get(key) || {
        key,
        page: place.page,
        who,
        mandatory: 0,
        optional: 0,
      };
      row[place.mandatory ? "mandatory" : "optional"]++;
      rows.set(key, row);
    }
    return [...rows.values()].sort(
      (a, b) => a.page - b.page || a.who.localeCompare(b.who)
    );
  }

  // --- Editing ----------------------------------------------------------------------------
  select(place) {
    this.state.selected = place ? place.key : null;
  }

  setPlace(place, values) {
    const page = this.state.data.pages[(values.page ?? place.page) - 1];
    if (!page) {
      return;
    }
    const next = {...place, ...values};
    next.width = clamp(next.width, MIN_SIZE, page.width);
    next.height = clamp(next.height, MIN_SIZE, page.height);
    next.x0 = clamp(next.x0, 0, page.width - next.width);
    next.y0 = clamp(next.y0, 0, page.height - next.height);
    for (const key of ["x0", "y0", "width", "height"]) {
      place[key] = round2(next[key]);
    }
    for (const key of ["page", "kind", "role", "participant_id", "mandatory"]) {
      place[key] = next[key];
    }
  }

  startAdding(kind) {
    this.state.addKind = this.state.addKind === kind ? null : kind;
  }

  onPageClick(ev, page) {
    if (!this.state.addKind || !this.editable) {
      return;
    }
    const rect = ev.currentTarget.getBoundingClientRect();
    const scale = page.width / rect.width;
    const [width, height] = this.state.data.default_sizes[this.state.addKind];
    const selected = this.selectedPlace;
    const participant =
      selected?.participant_id || this.state.data.participants[0]?.id || false;
    const place = {
      key: `new${++this.newKey}`,
      id: false,
      page: page.number,
      kind: this.state.addKind,
      role: "",
      participant_id: participant,
      mandatory: true,
      source: "manual",
      x0: 0,
      y0: 0,
      width,
      height,
      saved: {},
    };
    this.setPlace(place, {
      x0: (ev.clientX - rect.left) * scale - width / 2,
      y0: (ev.clientY - rect.top) * (page.height / rect.height) - height / 2,
    });
    this.state.places.push(place);
    this.state.selected = place.key;
    this.state.addKind = null;
  }

  remove(place) {
    if (place.id) {
      this.state.removed.push(place.id);
    }
    this.state.places.splice(this.state.places.indexOf(place), 1);
    this.state.selected = null;
  }

  onInput(place, key, ev) {
    let value = ev.target.value;
    if (key === "participant_id" || key === "page") {
      value = parseInt(value, 10) || false;
    } else if (key === "mandatory") {
      value = ev.target.checked;
    } else if (GEOMETRY_KEYS.includes(key)) {
      value = parseFloat(value);
      if (Number.isNaN(value)) {
        return;
      }
    }
    this.setPlace(place, {[key]: value});
  }

  onBoxKeydown(ev, place) {
    if (!this.editable) {
      return;
    }
    const step = ev.shiftKey ? 10 : 1;
    const moves = {
      ArrowLeft: [-step, 0],
      ArrowRight: [step, 0],
      ArrowUp: [0, -step],
      ArrowDown: [0, step],
    };
    if (ev.key in moves) {
      const [dx, dy] = moves[ev.key];
      this.setPlace(place, {x0: place.x0 + dx, y0: place.y0 + dy});
      ev.preventDefault();
    } else if (ev.key === "Delete") {
      this.remove(place);
      ev.preventDefault();
    }
  }

  // --- Dragging: move from the body, resize from the corner handle ------------------------
  onPointerDown(ev, place, mode) {
    this.select(place);
    if (!this.editable || ev.button > 0) {
      return;
    }
    const pageEl = ev.currentTarget.closest(".o_ds_pe_page");
    const rect = pageEl.getBoundingClientRect();
    const page = this.pageOf(place);
    const scaleX = page.width / rect.width;
    const scaleY = page.height / rect.height;
    this.drag = {
      place,
      mode,
      pagesEl: pageEl.closest(".o_ds_pe_pages"),
      startX: ev.clientX,
      startY: ev.clientY,
      scaleX,
      scaleY,
      // Where the place was grabbed, in points from its top-left corner.
      grabX: (ev.clientX - rect.left) * scaleX - place.x0,
      grabY: (ev.clientY - rect.top) * scaleY - place.y0,
      origin: {x0: place.x0, y0: place.y0, width: place.width, height: place.height},
    };
    ev.currentTarget.closest(".o_ds_pe_place").focus();
    ev.preventDefault();
    ev.stopPropagation();
  }

  onPointerMove(ev) {
    const drag = this.drag;
    if (!drag) {
      return;
    }
    const {origin} = drag;
    if (drag.mode === "move") {
      // The place follows the pointer onto whichever page it is over.
      const target = this.pageAt(drag.pagesEl, ev.clientX, ev.clientY, drag.place.page);
      const rect = target.el.getBoundingClientRect();
      const page = this.state.data.pages[target.number - 1];
      this.setPlace(drag.place, {
        page: target.number,
        x0: (ev.clientX - rect.left) * (page.width / rect.width) - drag.grabX,
        y0: (ev.clientY - rect.top) * (page.height / rect.height) - drag.grabY,
      });
    } else {
      const dx = (ev.clientX - drag.startX) * drag.scaleX;
      const dy = (ev.clientY - drag.startY) * drag.scaleY;
      const page = this.pageOf(drag.place);
      this.setPlace(drag.place, {
        width: clamp(origin.width + dx, MIN_SIZE, page.width - origin.x0),
        height: clamp(origin.height + dy, MIN_SIZE, page.height - origin.y0),
      });
    }
  }

  onPointerUp() {
    this.drag = null;
  }

  /**
   * The page under a point of the screen: the one whose box holds it, else the nearest
   * one vertically (between two pages, or above the first), else ``current``.
   */
  pageAt(pagesEl, clientX, clientY, current) {
    let best = null;
    for (const el of pagesEl.querySelectorAll(".o_ds_pe_page")) {
      const rect = el.getBoundingClientRect();
      const distance =
        clientY < rect.top ? rect.top - clientY : Math.max(0, clientY - rect.bottom);
      if (!best || distance < best.distance) {
        best = {el, distance, number: parseInt(el.dataset.page, 10)};
      }
    }
    if (!best) {
      const el = pagesEl.querySelector(`.o_ds_pe_page[data-page='${current}']`);
      return {el, number: current};
    }
    return best;
  }

  // --- Save / discard ---------------------------------------------------------------------
  async save() {
    const changes = {create: [], write: [], unlink: [...this.state.removed]};
    for (const place of this.state.places) {
      const values = {};
      for (const key of VALUE_KEYS) {
        if (!place.id || place[key] !== place.saved[key]) {
          values[key] = place[key];
        }
      }
      if (!place.id) {
        changes.create.push(values);
      } else if (Object.keys(values).length) {
        // The server checks the whole box: send its four values together.
        for (const key of GEOMETRY_KEYS) {
          values[key] = place[key];
        }
        changes.write.push([place.id, values]);
      }
    }
    this.state.saving = true;
    try {
      const data = await this.orm.call(this.rpcModel, "save_places_editor_data", [
        this.targetId,
        changes,
      ]);
      await this.load(data);
      this.notification.add(_t("Places saved."), {type: "success"});
    } finally {
      this.state.saving = false;
    }
  }

  async discard() {
    await this.load();
  }

  openList() {
    return this.action.doActionButton({
      type: "object",
      name: "action_count_signatures",
      resModel: "digital.sign.request",
      resId: this.requestId,
    });
  }

  openDocument() {
    return this.action.doAction({
      type: "ir.actions.act_window",
      res_model: this.templateId ? "digital.sign.template" : "digital.sign.request",
      res_id: this.targetId,
      views: [[false, "form"]],
    });
  }
}

registry.category("actions").add("digital_sign.places_editor", PlacesEditor);
