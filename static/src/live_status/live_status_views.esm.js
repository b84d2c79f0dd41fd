import {onWillUnmount} from "@odoo/owl";
import {useBus} from "@web/core/utils/hooks";
import {patch} from "@web/core/utils/patch";
import {FormController} from "@web/views/form/form_controller";
import {KanbanController} from "@web/views/kanban/kanban_controller";
import {ListController} from "@web/views/list/list_controller";
import {LIVE_MODELS} from "./live_status_service.esm";

const DEBOUNCE_MS = 300;

/**
 * Follow the live status of documents in a view: when the bus says one of the shown records
 * moved, reload, a few notifications of one step (consent, signed, completed) in one go.
 * Nothing is reloaded while the user has unsaved changes: they keep their edits, and the next
 * notification after saving brings the news.
 *
 * @param {object} controller the view controller (``this`` in its setup)
 * @param {function(object): boolean} concerns whether a notification is about a shown record
 * @param {function(): Promise} reload
 */
function useLiveStatus(controller, concerns, reload) {
  const live = controller.env.services.digital_sign_live;
  if (!live || !LIVE_MODELS.includes(controller.props.resModel)) {
    return;
  }
  let timer = null;
  onWillUnmount(() => clearTimeout(timer));
  useBus(live.bus, "update", ({detail}) => {
    if (!concerns(detail)) {
      return;
    }
    clearTimeout(timer);
    timer = setTimeout(() => reload(), DEBOUNCE_MS);
  });
}

patch(FormController.prototype, {
  setup() {
    super.setup(...arguments);
    const live = this.env.services.digital_sign_live;
    useLiveStatus(
      this,
      (payload) =>
        this.model.root?.resId &&
        live.concerns(payload, this.props.resModel, this.model.root.resId),
      async () => {
        const root = this.model.root;
        if (root.resId && !(await root.isDirty())) {
          await root.load();
        }
      }
    );
  },
});

/**
 * @param {object} controller a list or kanban controller
 */
function useLiveStatusMulti(controller) {
  const live = controller.env.services.digital_sign_live;
  useLiveStatus(
    controller,
    (payload) =>
      controller.props.resModel === "digital.sign.request" ||
      controller.model.root.records.some((record) =>
        live.concerns(payload, controller.props.resModel, record.resId)
      ),
    async () => {
      if (!controller.model.root.editedRecord) {
        await controller.model.load();
      }
    }
  );
}

patch(ListController.prototype, {
  setup() {
    super.setup(...arguments);
    useLiveStatusMulti(this);
  },
});

patch(KanbanController.prototype, {
  setup() {
    super.setup(...arguments);
    useLiveStatusMulti(this);
  },
});
