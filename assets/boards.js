/* A board's live feed: the same frames as the Overview's (/ws, topic "all"),
 * reduced to "something new arrived" (the last event id) at most every
 * HOLD_MS, which redraws the panels whose range follows now. A shared board
 * (read through a share link) does not connect: it redraws on its refresh
 * interval. See callbacks/boards.py. */
(function () {
  var HOLD_MS = 1500;
  var state = {pending: null, sent: 0, lastMessage: null, lastState: null, attempts: 0};
  var nu = function () { return window.dash_clientside.no_update; };

  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.boards = {
    connect: function (n, socket, board, url) {
      if (!board || board.shared) return nu();
      var rs = socket ? socket.readyState : null;
      if (!url) return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
      if (rs === 3) {
        state.attempts += 1;
        if (state.attempts % Math.min(8, state.attempts) === 0) return url.split("?")[0] + "?attempt=" + state.attempts;
      } else if (rs === 1) {
        state.attempts = 0;
      }
      return nu();
    },

    receive: function (msg, socket, _n) {
      var send = nu();
      if (socket && socket !== state.lastState) {
        state.lastState = socket;
        if (socket.readyState === 1) send = JSON.stringify({type: "subscribe", topics: ["all"], n: Date.now()});
      }
      if (msg && msg !== state.lastMessage) {
        state.lastMessage = msg;
        try {
          var data = JSON.parse(msg.data);
          if (data && data.type === "realtime_update" && data.last_id) state.pending = data.last_id;
          if (data && data.type === "initial_data") {
            var wrap = document.getElementById("bd-wrap");  // tests and scripts: the feed is subscribed
            if (wrap) wrap.setAttribute("data-live", "open");
          }
        } catch (err) { /* not a frame */ }
      }
      var now = Date.now();
      if (state.pending !== null && now - state.sent >= HOLD_MS) {
        var id = state.pending;
        state.pending = null;
        state.sent = now;
        return [id, send];
      }
      return [nu(), send];
    }
  };
})();
