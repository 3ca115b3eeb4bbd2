// Events and Alarms: the alarms derived from the inventory (hosts not responding, TKCs failed,
// namespaces over 90% of a limit) and the recent Warning events of Pacific's objects.
import { alarms } from "../../../controllers/ui/model.ts";
import type { RowStore } from "../store.ts";

const SHOWN = 200;

export function EventsView({ store }: { store: RowStore }) {
  const ix = store.ix;
  const list = alarms(ix.rows.values());
  return (
    <section class="events">
      <div class="toolbar">
        <h2>Alarms</h2>
        <span class="muted">{list.length} triggered</span>
      </div>
      <ul class="alarms">
        {list.map((a) => (
          <li key={a.id} class={`alarm ${a.severity}`} data-alarm={a.rowId}>
            <span class="badge">{a.severity}</span> {a.text}
          </li>
        ))}
        {list.length === 0 && <li class="muted">No triggered alarms.</li>}
      </ul>
      <div class="toolbar">
        <h2>Recent warning events</h2>
        <span class="muted">
          {Math.min(SHOWN, ix.events.length)} of {ix.events.length}
        </span>
      </div>
      <table>
        <thead>
          <tr>
            <th>Time</th>
            <th>Object</th>
            <th>Reason</th>
            <th>Message</th>
            <th>Count</th>
          </tr>
        </thead>
        <tbody>
          {ix.events.slice(0, SHOWN).map((e) => (
            <tr key={e.id}>
              <td>{e.time ? new Date(e.time).toLocaleTimeString() : ""}</td>
              <td>
                {e.regarding.kind} {e.regarding.namespace ? `${e.regarding.namespace}/` : ""}
                {e.regarding.name}
              </td>
              <td>{e.reason}</td>
              <td>{e.note}</td>
              <td>{e.count}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
