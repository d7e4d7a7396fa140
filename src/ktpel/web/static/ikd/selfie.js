// IKD selfie: a webcam snapshot goes into the same file input an upload uses.
(function () {
  "use strict";
  const button = document.getElementById("selfie-camera");
  const input = document.getElementById("selfie");
  const video = document.getElementById("camera");
  const canvas = document.getElementById("snapshot");
  if (!button || !input || !video || !canvas || !navigator.mediaDevices) { if (button) { button.hidden = true; } return; }
  let stream = null;
  button.addEventListener("click", async () => {
    if (!stream) {
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "user" } });
      } catch (err) {
        button.textContent = "Kamera tidak tersedia — unggah foto";
        button.disabled = true;
        return;
      }
      video.srcObject = stream;
      video.hidden = false;
      button.textContent = "Ambil foto";
      return;
    }
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    canvas.toBlob(blob => {
      const dt = new DataTransfer();
      dt.items.add(new File([blob], "swafoto.png", { type: "image/png" }));
      input.files = dt.files;
      button.textContent = "Foto diambil ✓ (ambil ulang)";
    }, "image/png");
  });
})();
