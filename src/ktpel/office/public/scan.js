// Camera scanning on /verifikasi, only where the browser has a native QR decoder (BarcodeDetector);
// pasting the payload always works. Served by ktpel.office.public.views (CSP allows only same-origin scripts).
(function () {
  if (!('BarcodeDetector' in window) || !navigator.mediaDevices) return;
  var btn = document.getElementById('scan'), video = document.getElementById('camera');
  if (!btn || !video) return;
  btn.hidden = false;
  btn.addEventListener('click', async function () {
    var detector = new BarcodeDetector({formats: ['qr_code']});
    var stream = await navigator.mediaDevices.getUserMedia({video: {facingMode: 'environment'}});
    video.srcObject = stream; video.hidden = false; await video.play();
    var tick = async function () {
      var codes = await detector.detect(video);
      if (codes.length) {
        stream.getTracks().forEach(function (t) { t.stop(); });
        document.getElementById('payload').value = codes[0].rawValue;
        document.getElementById('verify-form').submit();
      } else { requestAnimationFrame(tick); }
    };
    tick();
  });
})();
