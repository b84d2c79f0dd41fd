import {EventBus} from "@odoo/owl";
import {_t} from "@web/core/l10n/translation";
import {registry} from "@web/core/registry";

/** The models whose open views follow a document's live status. */
export const LIVE_MODELS = ["digital.sign.request", "sale.order", "helpdesk.ticket"];

/**
 * Live status for the sender. The server pushes a "digital_sign/status" notification on the
 * user's bus channel when a participant opens, signs or rejects a document (or a service
 * reports so); it carries ids only. This service re-emits it on its own bus, where the open
 * form, list and kanban views listen and reload their records (see live_status_views.esm.js).
 * When the signed document exists, "digital_sign/completed" shows a notification whose button
 * opens it.
 */
export const liveStatusService = {
  dependencies: ["bus_service", "notification", "action", "orm"],

  start(env, {bus_service, notification, action, orm}) {
    const bus = new EventBus();
    bus_service.subscribe("digital_sign/status", (payload) => {
      bus.trigger("update", payload);
    });
    bus_service.subscribe("digital_sign/completed", (payload) => {
      notification.add(payload.message, {
        title: payload.title,
        type: "success",
        sticky: true,
        className: "o_digital_sign_completed",
        buttons: [
          {
            name: _t("Open the signed document"),
            primary: true,
            onClick: async () => {
              const preview = await orm.call(
                "digital.sign.request",
                "action_preview_signed",
                [[payload.request_id]]
              );
              await action.doAction(preview);
            },
          },
        ],
      });
    });
    bus_service.start();
    return {
      bus,
      /**
       * Whether a notification concerns a record of ``resModel`` with id ``resId``.
       *
       * @param {object} payload
       * @param {string} resModel
       * @param {number} resId
       */
      concerns(payload, resModel, resId) {
        if (resModel === "digital.sign.request") {
          return payload.request_id === resId;
        }
        return payload.res_model === resModel && payload.res_id === resId;
      },
    };
  },
};

registry.category("services").add("digital_sign_live", liveStatusService);
