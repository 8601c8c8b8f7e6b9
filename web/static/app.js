// Enhancements only: every page works without this script.
// 1. the map of the results (Leaflet, served by the app), numbered like the list;
// 2. suggestions for the where field (POST /suggest: what is typed may be an address,
//    and a POST body appears in no URL or access log);
// 3. the print button of the handout.
(function () {
  "use strict";

  function drawMap() {
    var holder = document.getElementById("map");
    var source = document.getElementById("map-data");
    if (!holder || !source || typeof L === "undefined") return;
    var data = JSON.parse(source.textContent);
    var map = L.map(holder, { scrollWheelZoom: false });
    L.tileLayer(data.tiles, { attribution: data.attribution, maxZoom: 19 }).addTo(map);
    var bounds = [];
    if (data.center) {
      L.circleMarker(data.center, { radius: 8, color: "#0b0c0c", fillColor: "#ffbf47", fillOpacity: 1 })
        .addTo(map).bindTooltip(holder.dataset.centerLabel || "");
      if (data.radius_m) {
        L.circle(data.center, { radius: data.radius_m, color: "#00558a", fill: false }).addTo(map);
        // the circle's own bounds need a map view first; these need none
        var around = L.latLng(data.center).toBounds(2 * data.radius_m);
        bounds.push(around.getNorthWest(), around.getSouthEast());
      }
    }
    data.markers.forEach(function (m) {
      var icon = L.divIcon({ className: "", html: '<span class="map-marker">' + m.n + "</span>",
                             iconSize: [32, 32], iconAnchor: [16, 16] });
      var marker = L.marker([m.lat, m.lon], { icon: icon, title: m.n + ". " + m.title, keyboard: false });
      marker.on("click", function () {
        var item = document.getElementById("offer-" + m.id);
        if (item) { item.scrollIntoView(); item.querySelector("a").focus(); }
      });
      marker.addTo(map);
      bounds.push([m.lat, m.lon]);
    });
    if (bounds.length) map.fitBounds(bounds, { padding: [24, 24], maxZoom: 15 });
    else if (data.center) map.setView(data.center, 13);
    holder.setAttribute("data-ready", "true");
  }

  function suggestPlaces() {
    var input = document.querySelector("input[data-suggest]");
    var list = document.getElementById("places");
    if (!input || !list) return;
    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var typed = input.value.trim();
      if (typed.length < 2) return;
      timer = setTimeout(function () {
        var body = new URLSearchParams({ q: typed });
        fetch(input.dataset.suggest, { method: "POST", body: body })
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (found) {
            list.textContent = "";
            found.forEach(function (s) {
              var option = document.createElement("option");
              option.value = s.value;
              option.label = s.label;
              list.appendChild(option);
            });
            input.setAttribute("data-suggested", String(found.length));
          })
          .catch(function () { /* typing still works */ });
      }, 150);
    });
  }

  function printButton() {
    var button = document.querySelector("[data-print]");
    if (!button) return;
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  }

  drawMap();
  suggestPlaces();
  printButton();
})();
