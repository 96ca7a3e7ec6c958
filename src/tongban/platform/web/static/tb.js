/* Enhancement only: read the page aloud where the browser can speak. */
(function () {
  if (!("speechSynthesis" in window) || !window.SpeechSynthesisUtterance) return;
  var buttons = document.querySelectorAll("[data-read-aloud]");
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].hidden = false;
    buttons[i].addEventListener("click", function () {
      var synth = window.speechSynthesis;
      if (synth.speaking) { synth.cancel(); return; }
      var main = document.getElementById("main");
      var text = main ? main.innerText : document.body.innerText;
      var utterance = new SpeechSynthesisUtterance(text);
      utterance.lang = document.documentElement.lang || "zh-CN";
      utterance.rate = 0.9;
      synth.speak(utterance);
    });
  }
})();
/* Enhancement only: a Print button on receipts (without JavaScript, the browser's menu prints). */
(function () {
  var buttons = document.querySelectorAll("[data-print]");
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].hidden = false;
    buttons[i].addEventListener("click", function () { window.print(); });
  }
})();
