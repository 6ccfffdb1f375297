#!/usr/bin/env python3
"""Writes callpulse's Grafana dashboards (deploy/grafana/callpulse-*.json) from the panel
lists below: one place for every query, so the five dashboards share their variables,
their NaN guards and their colours. `deploy/check.sh` runs it and fails if the committed
JSON differs; tests/e2e/grafana.rs runs every query against a Prometheus that scraped the
demo.

Conventions of every query:
- Ratios are sum(numerator) / (sum(denominator) > 0): a queue with no call in the window
  has no point, never NaN. Quantiles are filtered with `>= 0` for the same reason.
- Every panel filters by the variables it can: $queue, $team, $window, $threshold.
- Colours come from each queue's own limits as the engine judges them
  (callpulse_queue_check_status: 0 ok, 1 quiet, 2 at risk, 3 breach), never from numbers
  written here.
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DS = {"type": "prometheus", "uid": "${datasource}"}

Q = 'queue=~"$queue"'
QW = 'queue=~"$queue",window="$window"'
QWT = 'queue=~"$queue",window="$window",threshold_seconds="$threshold"'


def ratio(num, den, by="queue"):
    group = f"sum by ({by})" if by else "sum"
    return f"{group} ({num}) / ({group} ({den}) > 0)"


SL = ratio(
    f"callpulse_queue_sl_numerator_calls{{{QWT}}}",
    f"callpulse_queue_sl_denominator_calls{{{QW}}}",
)
ABANDON = ratio(
    f"callpulse_queue_abandon_numerator_calls{{{QW}}}",
    f"callpulse_queue_abandon_denominator_calls{{{QW}}}",
)
ASA = ratio(
    f"callpulse_queue_answer_wait_seconds{{{QW}}}",
    f"callpulse_queue_answered_calls{{{QW}}}",
)
AHT = ratio(
    f"callpulse_queue_handle_seconds{{{QW}}}",
    f"callpulse_queue_completed_calls{{{QW}}}",
)

STATUS_MAPPINGS = [
    {
        "type": "value",
        "options": {
            "0": {"text": "ok", "color": "green", "index": 0},
            "1": {"text": "quiet", "color": "text", "index": 1},
            "2": {"text": "at risk", "color": "orange", "index": 2},
            "3": {"text": "breach", "color": "red", "index": 3},
        },
    }
]


def variables(*names):
    out = [{"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus", "current": {}}]

    def query(name, q, multi=True):
        return {
            "name": name,
            "label": name,
            "type": "query",
            "datasource": DS,
            "query": {"query": q, "refId": "v"},
            "definition": q,
            "refresh": 2,
            "multi": multi,
            "includeAll": multi,
            "allValue": ".*" if multi else None,
            "current": {"selected": True, "text": "All", "value": "$__all"} if multi else {},
            "sort": 1,
        }

    for name in names:
        if name == "queue":
            out.append(query("queue", "label_values(callpulse_queue_open, queue)"))
        elif name == "team":
            out.append(query("team", "label_values(callpulse_team_agents, team)"))
        elif name == "threshold":
            v = query(
                "threshold",
                'label_values(callpulse_queue_answered_within_threshold_calls{queue=~"$queue"}, threshold_seconds)',
                multi=False,
            )
            v["label"] = "SL threshold (s)"
            out.append(v)
        elif name == "window":
            windows = ["5m", "15m", "30m", "1h", "interval", "today"]
            out.append(
                {
                    "name": "window",
                    "label": "window",
                    "type": "custom",
                    "query": ",".join(windows),
                    "current": {"text": "15m", "value": "15m"},
                    "options": [{"text": w, "value": w, "selected": w == "15m"} for w in windows],
                }
            )
    return {"list": out}


class Board:
    def __init__(self, uid, title, description, variables):
        self.uid, self.title, self.description = uid, title, description
        self.variables = variables
        self.panels = []
        self.x = self.y = 0
        self.row_h = 0

    def panel(self, kind, title, targets, w=8, h=8, unit=None, description="", mappings=None,
              thresholds=None, instant=False, options=None, color=None, min_=None, max_=None):
        if self.x + w > 24:
            self.x, self.y = 0, self.y + self.row_h
            self.row_h = 0
        defaults = {}
        if unit:
            defaults["unit"] = unit
        if min_ is not None:
            defaults["min"] = min_
        if max_ is not None:
            defaults["max"] = max_
        if mappings:
            defaults["mappings"] = mappings
        if thresholds:
            defaults["thresholds"] = {"mode": "absolute", "steps": thresholds}
        if color:
            defaults["color"] = {"mode": color}
        panel = {
            "id": len(self.panels) + 1,
            "type": kind,
            "title": title,
            "description": description,
            "datasource": DS,
            "gridPos": {"x": self.x, "y": self.y, "w": w, "h": h},
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": options or {},
            "targets": [
                {
                    "refId": chr(ord("A") + i),
                    "expr": expr,
                    "legendFormat": legend,
                    **({"instant": True, "range": False} if instant else {}),
                }
                for i, (expr, legend) in enumerate(targets)
            ],
        }
        self.panels.append(panel)
        self.x += w
        self.row_h = max(self.row_h, h)
        return panel

    def json(self):
        return {
            "title": self.title,
            "uid": self.uid,
            "description": self.description,
            "schemaVersion": 39,
            "version": 1,
            "editable": True,
            "time": {"from": "now-6h", "to": "now"},
            "refresh": "30s",
            "tags": ["callpulse", "contact-center"],
            "templating": self.variables,
            "links": [
                {"title": "callpulse dashboards", "type": "dashboards", "tags": ["callpulse"], "asDropdown": True}
            ],
            "panels": self.panels,
        }


def center():
    b = Board("callpulse-center", "callpulse: center", "The whole floor now: waiting, service level, abandonment, staffing, every queue's status.",
              variables("queue", "window", "threshold"))
    b.panel("stat", "Calls waiting", [(f"sum(callpulse_queue_calls_waiting{{{Q}}})", "waiting")], w=4, h=5, instant=True)
    b.panel("stat", "Longest wait", [(f"max(callpulse_queue_longest_wait_seconds{{{Q}}})", "longest")], w=4, h=5, unit="s", instant=True)
    b.panel("stat", "Service level ($threshold s, $window)",
            [(ratio(f"callpulse_queue_sl_numerator_calls{{{QWT}}}", f"callpulse_queue_sl_denominator_calls{{{QW}}}", by=None), "SL")],
            w=4, h=5, unit="percentunit", instant=True,
            description="The SL numerators over the SL denominators of the selected queues (each queue's own formula). Each queue's colour against its own target is in the status table.")
    b.panel("stat", "Abandonment ($window)",
            [(ratio(f"callpulse_queue_abandon_numerator_calls{{{QW}}}", f"callpulse_queue_abandon_denominator_calls{{{QW}}}", by=None), "abandon")],
            w=4, h=5, unit="percentunit", instant=True)
    b.panel("stat", "AHT ($window)",
            [(ratio(f"callpulse_queue_handle_seconds{{{QW}}}", f"callpulse_queue_completed_calls{{{QW}}}", by=None), "AHT")],
            w=4, h=5, unit="s", instant=True)
    b.panel("stat", "Agents available", [('sum(callpulse_team_agents{state="available"})', "available")], w=4, h=5, instant=True)
    b.panel("table", "Queue status (each queue against its own limits)",
            [(f"max by (queue) (callpulse_queue_status{{{Q}}})", "{{queue}}")],
            w=12, h=10, instant=True, mappings=STATUS_MAPPINGS, color="fixed",
            description="callpulse_queue_status: the worst of the queue's checks (service level, longest wait, abandonment, overdue tickets) against its configured limits; quiet means too few calls to judge.",
            options={"cellHeight": "sm", "showHeader": True})
    b.panel("timeseries", "Service level vs target",
            [(SL, "{{queue}}"), (f"max by (queue) (callpulse_queue_sl_target_ratio{{{Q}}})", "{{queue}} target")],
            w=12, h=10, unit="percentunit", min_=0, max_=1)
    b.panel("timeseries", "Calls waiting", [(f"sum by (queue) (callpulse_queue_calls_waiting{{{Q}}})", "{{queue}}")], w=12, h=8)
    b.panel("timeseries", "Staffing gap (Erlang C required - staffed)",
            [(f"max by (queue) (callpulse_queue_staffing_gap_agents{{{Q}}})", "{{queue}}")], w=12, h=8)
    return b


def queues():
    b = Board("callpulse-queues", "callpulse: queues", "Per queue: service level, offered and answered, waits, abandonment, handle time, CSAT, NPS, FCR, and each check against its limits.",
              variables("queue", "window", "threshold"))
    b.panel("table", "Checks and limits",
            [(f"max by (queue, check) (callpulse_queue_check_status{{{Q}}})", "{{queue}} {{check}}"),
             (f'max by (queue, check) (callpulse_queue_check_limit{{{Q},level="breach"}})', "{{queue}} {{check}} limit")],
            w=24, h=8, instant=True, mappings=STATUS_MAPPINGS,
            description="Each check's level (0 ok, 1 quiet, 2 at risk, 3 breach) and its breach limit from the queue's configuration.")
    b.panel("timeseries", "Service level ($threshold s) vs target",
            [(SL, "{{queue}}"), (f"max by (queue) (callpulse_queue_sl_target_ratio{{{Q}}})", "{{queue}} target")],
            w=12, unit="percentunit", min_=0, max_=1)
    b.panel("timeseries", "Offered and answered ($window)",
            [(f"sum by (queue) (callpulse_queue_offered_calls{{{QW}}})", "{{queue}} offered"),
             (f"sum by (queue) (callpulse_queue_answered_calls{{{QW}}})", "{{queue}} answered")], w=12)
    b.panel("timeseries", "Average speed of answer ($window)", [(ASA, "{{queue}}")], w=8, unit="s")
    b.panel("timeseries", "Longest wait now", [(f"max by (queue) (callpulse_queue_longest_wait_seconds{{{Q}}})", "{{queue}}")], w=8, unit="s")
    b.panel("timeseries", "Wait p90 (lifetime histogram, 15 min rate)",
            [(f"histogram_quantile(0.9, sum by (queue, le) (rate(callpulse_calls_answer_wait_seconds_bucket{{{Q}}}[15m]))) >= 0", "{{queue}}")],
            w=8, unit="s", description="From the lifetime histogram, whose buckets fall on every SL threshold; no point when no call was answered in the last 15 minutes.")
    b.panel("timeseries", "Abandonment ($window)", [(ABANDON, "{{queue}}")], w=8, unit="percentunit", min_=0)
    b.panel("timeseries", "Average handle time ($window)", [(AHT, "{{queue}}")], w=8, unit="s")
    b.panel("timeseries", "CSAT top-2-box ($window)",
            [(ratio(f"callpulse_queue_csat_positive_responses{{{QW}}}", f"callpulse_queue_csat_responses{{{QW}}}"), "{{queue}}")],
            w=8, unit="percentunit", min_=0, max_=1)
    b.panel("timeseries", "NPS ($window)",
            [(f"100 * (sum by (queue) (callpulse_queue_nps_promoters{{{QW}}}) - sum by (queue) (callpulse_queue_nps_detractors{{{QW}}}))"
              f" / (sum by (queue) (callpulse_queue_nps_responses{{{QW}}}) > 0)", "{{queue}}")],
            w=8, min_=-100, max_=100,
            description="Net Promoter Score: % promoters (9-10) minus % detractors (0-6) of the NPS answers in the window.")
    b.panel("timeseries", "FCR: settled and provisional",
            [(ratio(f"callpulse_queue_fcr_resolved_contacts{{{QW}}}", f"callpulse_queue_fcr_eligible_contacts{{{QW}}}"), "{{queue}} settled ($window)"),
             (f"max by (queue) (callpulse_queue_fcr_provisional_ratio{{{Q}}})", "{{queue}} upper bound (pending)")],
            w=8, unit="percentunit", min_=0, max_=1,
            description="Settled: contacts whose FCR window closed in the window. The provisional figure counts pending contacts as resolved: an upper bound, labelled as one.")
    b.panel("timeseries", "FCR contacts pending", [(f"sum by (queue) (callpulse_queue_fcr_pending_contacts{{{Q}}})", "{{queue}}")], w=8)
    return b


def teams():
    b = Board("callpulse-teams", "callpulse: teams and agents", "Agents by state, occupancy and staffing per team. Per-agent detail is on the API and the feed, never on /metrics.",
              variables("queue", "team", "window"))
    b.panel("timeseries", "Agents by state", [('sum by (state) (callpulse_team_agents{team=~"$team"})', "{{state}}")], w=12, h=9)
    b.panel("bargauge", "Agents by team and state now",
            [('sum by (team, state) (callpulse_team_agents{team=~"$team"})', "{{team}} {{state}}")], w=12, h=9, instant=True)
    b.panel("timeseries", "Occupancy by team ($window; sliding windows only)",
            [(ratio('callpulse_team_state_seconds{team=~"$team",window="$window",state=~"on_call|wrap_up"}',
                    'callpulse_team_state_seconds{team=~"$team",window="$window",state=~"available|on_call|wrap_up"}', by="team"), "{{team}}")],
            w=12, h=9, unit="percentunit", min_=0, max_=1,
            description="Team time is kept for the sliding windows (5m to 1h); for interval and today this panel is empty rather than showing another window.")
    b.panel("timeseries", "Schedule adherence by team ($window; sliding windows only)",
            [(ratio('callpulse_team_adherence_ratio{team=~"$team",window="$window"} * callpulse_team_scheduled_seconds{team=~"$team",window="$window"}',
                    'callpulse_team_scheduled_seconds{team=~"$team",window="$window"}', by="team"), "{{team}}")],
            w=12, h=9, unit="percentunit", min_=0, max_=1,
            description="1 - out-of-adherence time (past the grace) / scheduled time, weighted by scheduled time so instances add up (docs/adherence.md). Today's figure is on the API and callpulse_team_adherence_ratio{window=\"today\"}.")
    b.panel("bargauge", "Agents out of adherence now",
            [('sum by (team) (callpulse_team_agents_out_of_adherence{team=~"$team"})', "{{team}}")], w=12, h=9, instant=True,
            description="Who they are is on the API and the feed, for the roles that may see them.")
    b.panel("timeseries", "Required vs staffed agents (Erlang C)",
            [(f"max by (queue) (callpulse_queue_required_agents{{{Q}}})", "{{queue}} required"),
             (f"max by (queue) (callpulse_queue_staffed_agents{{{Q}}})", "{{queue}} staffed")], w=12, h=9)
    b.panel("bargauge", "Staffing plan: agents short (+) or spare (-), this and next interval",
            [('max by (team, interval) (callpulse_team_plan_gap_agents{team=~"$team"})', "{{team}} {{interval}}")],
            w=12, h=9, instant=True,
            description="Agents the team's queues need on the intraday reforecast (Erlang C at their SL targets) minus agents scheduled open (docs/forecast.md). Needs a profile ([forecast] profile) and schedules. With several instances, read the plan from the API: each instance exports the partitions it owns.")
    b.panel("timeseries", "Reforecast vs actual: offered calls this interval",
            [(f'sum by (queue) (callpulse_queue_forecast_offered_calls{{queue=~"$queue",interval="current"}})', "{{queue}} forecast"),
             (f'sum by (queue) (callpulse_queue_offered_calls{{queue=~"$queue",window="interval"}})', "{{queue}} so far")],
            w=12, h=9,
            description="The current interval's forecast (the queue's profile scaled by today so far) beside the calls it has had so far: the actual line climbs toward the forecast through the interval.")
    return b


def tickets():
    b = Board("callpulse-tickets", "callpulse: tickets", "Email, chat, social and web tickets: backlog, overdue, reply and resolution times.",
              variables("queue", "window"))
    b.panel("timeseries", "Open, awaiting reply, overdue, at risk",
            [(f"sum by (queue) (callpulse_queue_tickets_open{{{Q}}})", "{{queue}} open"),
             (f"sum by (queue) (callpulse_queue_tickets_awaiting_first_response{{{Q}}})", "{{queue}} awaiting reply"),
             (f"sum by (queue) (callpulse_queue_tickets_overdue{{{Q}}})", "{{queue}} overdue"),
             (f"sum by (queue) (callpulse_queue_tickets_at_risk{{{Q}}})", "{{queue}} at risk")], w=12, h=9)
    b.panel("timeseries", "Created and resolved ($window; sliding windows only)",
            [(f"sum by (queue) (callpulse_queue_tickets_created{{{QW}}})", "{{queue}} created"),
             (f"sum by (queue) (callpulse_queue_tickets_resolved{{{QW}}})", "{{queue}} resolved")], w=12, h=9)
    b.panel("timeseries", "First response, average ($window; sliding windows only)",
            [(ratio(f"callpulse_queue_ticket_first_response_seconds{{{QW}}}", f"callpulse_queue_ticket_first_responses{{{QW}}}"), "{{queue}}")],
            w=12, h=9, unit="s")
    b.panel("timeseries", "Resolution, average ($window; sliding windows only)",
            [(ratio(f"callpulse_queue_ticket_resolution_seconds{{{QW}}}", f"callpulse_queue_tickets_resolved{{{QW}}}"), "{{queue}}")],
            w=12, h=9, unit="s")
    return b


def engine():
    b = Board("callpulse-engine", "callpulse: engine health", "For SRE: ingest, lag, Kafka contact, checkpoints, the feed and HTTP, the process.",
              variables())
    b.panel("timeseries", "Events consumed per second", [("sum by (topic) (rate(callpulse_events_consumed_total[5m]))", "{{topic}}")], w=8)
    b.panel("timeseries", "Events rejected per second", [("sum by (reason) (rate(callpulse_events_rejected_total[5m]))", "{{reason}}")], w=8)
    b.panel("timeseries", "Consumer lag (messages)", [("sum by (topic) (callpulse_consumer_lag_messages)", "{{topic}}")], w=8)
    b.panel("timeseries", "Newest event age", [("time() - max(callpulse_last_event_timestamp_seconds)", "age")], w=8, unit="s")
    b.panel("timeseries", "Kafka contact age", [("max by (instance) (callpulse_broker_contact_age_seconds)", "{{instance}}")], w=8, unit="s")
    b.panel("timeseries", "Partitions owned", [("sum by (instance) (callpulse_owned_partitions)", "{{instance}}")], w=8)
    b.panel("timeseries", "Checkpoints per minute by outcome", [("sum by (outcome) (rate(callpulse_checkpoints_total[5m])) * 60", "{{outcome}}")], w=8)
    b.panel("timeseries", "WebSocket clients and drops",
            [("sum by (instance) (callpulse_ws_clients)", "{{instance}} clients"),
             ("sum by (reason) (rate(callpulse_ws_dropped_total[5m])) * 60", "dropped/min {{reason}}")], w=8)
    b.panel("timeseries", "Process memory (RSS)", [('max by (instance) (process_resident_memory_bytes{job="callpulse"})', "{{instance}}")], w=8, unit="bytes")
    b.panel("timeseries", "Process CPU", [('sum by (instance) (rate(process_cpu_seconds_total{job="callpulse"}[5m]))', "{{instance}}")], w=8, unit="percentunit")
    b.panel("table", "Build", [("max by (instance, version) (callpulse_build_info)", "{{instance}} {{version}}")], w=8, instant=True)
    b.panel("timeseries", "Kafka client errors per second", [("sum by (instance) (rate(callpulse_consumer_errors_total[5m]))", "{{instance}}")], w=8)
    return b


BOARDS = [center, queues, teams, tickets, engine]


def main():
    check = "--check" in sys.argv
    stale = []
    for make in BOARDS:
        board = make()
        path = os.path.join(HERE, f"{board.uid}.json")
        text = json.dumps(board.json(), indent=2) + "\n"
        if check:
            if not os.path.exists(path) or open(path).read() != text:
                stale.append(path)
        else:
            with open(path, "w") as f:
                f.write(text)
    if stale:
        sys.exit(f"out of date (run deploy/grafana/dashboards.py): {', '.join(stale)}")


if __name__ == "__main__":
    main()
