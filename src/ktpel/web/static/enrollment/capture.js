// Counter capture page: live quality per upload, webcam snapshot, signature pad.
(function () {
  "use strict";
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function setFiles(input, blob, name) {
    // A DataTransfer is the only way to put a generated file into a file input.
    const dt = new DataTransfer();
    dt.items.add(new File([blob], name, { type: blob.type }));
    input.files = dt.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  async function checkQuality(input) {
    const kind = input.dataset.quality;
    const out = document.getElementById("q-" + input.id);
    if (!out || !input.files.length) { return; }
    out.className = "quality";
    out.textContent = "memeriksa kualitas…";
    const body = new FormData();
    body.append("image", input.files[0]);
    try {
      const resp = await fetch("/api/v1/quality/" + kind, {
        method: "POST", body: body, headers: { "X-CSRF-Token": csrf }, credentials: "same-origin",
      });
      const data = await resp.json();
      if (!resp.ok) {
        out.className = "quality bad";
        out.textContent = (data.detail || "Gagal memeriksa kualitas") + " — silakan rekam ulang.";
        return;
      }
      const idText = r => r.split(": ").slice(1).join(": ").split(" / ")[0];
      const reasons = (data.reasons || []).map(idText);
      const warnings = (data.warnings || []).map(idText);
      if (data.ok) {
        out.className = "quality good";
        out.textContent = "Skor " + Math.round(data.score) + " — kualitas baik ✓";
        if (warnings.length) {  // accepted, but the operator should know (e.g. another face in the frame)
          const w = document.createElement("span");
          w.className = "quality-warning";
          w.textContent = " Peringatan: " + warnings.join("; ");
          out.appendChild(w);
        }
      } else if (data.refused) {  // unusable photo: the reason itself, no score
        out.className = "quality bad refused";
        out.textContent = data.prompt_id;
      } else {
        out.className = "quality bad";
        out.textContent = "Skor " + Math.round(data.score) + " — " + (data.prompt_id || "Silakan rekam ulang.") +
          (reasons.length ? " (" + reasons.join("; ") + ")" : "");
      }
      out.dataset.score = data.score;
      out.dataset.ok = data.ok;
    } catch (err) {
      out.className = "quality bad";
      out.textContent = "Tidak dapat memeriksa kualitas: " + err;
    }
  }

  document.querySelectorAll("input[data-quality]").forEach(input => {
    input.addEventListener("change", () => checkQuality(input));
  });

  // Scanner: the office's scanner adapter answers with the image of one finger position.
  document.querySelectorAll("button.scan").forEach(btn => {
    btn.addEventListener("click", async () => {
      const pos = btn.dataset.position;
      const out = document.getElementById("q-finger_" + pos);
      out.className = "quality"; out.textContent = "letakkan jari " + pos + " di pemindai…";
      let resp = null;
      for (let i = 0; i < 20; i++) {  // about 20 s for the resident to place the finger
        resp = await fetch("/api/v1/scanner/fingers/" + pos + "?timeout=1", {
          method: "POST", headers: { "X-CSRF-Token": csrf }, credentials: "same-origin",
        });
        if (resp.status !== 504) { break; }
      }
      if (!resp.ok) {
        const data = await resp.json().catch(() => ({}));
        out.className = "quality bad"; out.textContent = data.message_id || "Pemindai tidak menjawab.";
        return;
      }
      setFiles(document.getElementById("finger_" + pos), await resp.blob(), "scan_" + pos + ".img");
    });
  });

  // Webcam (getUserMedia): snapshot into the face file input.
  const video = document.getElementById("camera");
  const snap = document.getElementById("snapshot");
  const start = document.getElementById("camera-start");
  const shot = document.getElementById("camera-shot");
  if (start && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    start.addEventListener("click", async () => {
      try {
        video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
        video.hidden = false; shot.hidden = false;
      } catch (err) {
        document.getElementById("q-face").textContent = "Kamera tidak tersedia: unggah foto. (" + err.name + ")";
      }
    });
    shot.addEventListener("click", () => {
      snap.width = video.videoWidth || 640; snap.height = video.videoHeight || 480;
      snap.getContext("2d").drawImage(video, 0, 0, snap.width, snap.height);
      snap.hidden = false;
      snap.toBlob(b => setFiles(document.getElementById("face"), b, "webcam.jpg"), "image/jpeg", 0.92);
    });
  } else if (start) {
    start.disabled = true;
  }

  // Signature pad: strokes on a canvas, exported as PNG into the signature file input after each stroke.
  const pad = document.getElementById("signature-pad");
  const sigInput = document.getElementById("signature");
  if (pad) {
    const ctx = pad.getContext("2d");
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, pad.width, pad.height);
    ctx.lineWidth = 2.5; ctx.lineCap = "round"; ctx.strokeStyle = "#000";
    let drawing = false, drawn = false;
    const pos = e => { const r = pad.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; };
    pad.addEventListener("pointerdown", e => { drawing = true; ctx.beginPath(); ctx.moveTo(...pos(e)); });
    pad.addEventListener("pointermove", e => { if (drawing) { ctx.lineTo(...pos(e)); ctx.stroke(); drawn = true; } });
    const end = () => {
      if (!drawing) { return; }
      drawing = false;
      if (drawn) { pad.toBlob(b => setFiles(sigInput, b, "signature.png"), "image/png"); }
    };
    pad.addEventListener("pointerup", end);
    pad.addEventListener("pointerleave", end);
    document.getElementById("signature-clear").addEventListener("click", () => {
      ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, pad.width, pad.height); drawn = false;
      sigInput.value = "";
    });
  }

  const typedName = () => { const el = document.getElementById("signature_typed"); return el ? el.value.trim() : ""; };

  // Check before sending: what is missing is said here, next to a link to the field, and nothing is lost.
  function missing() {
    const problems = [];
    const has = id => { const el = document.getElementById(id); return el && (el.files.length > 0 || el.dataset.kept === "1"); };
    if (!has("face")) { problems.push(["face", "Foto wajah belum diambil."]); }
    for (let pos = 1; pos <= 10; pos++) {
      const exc = document.getElementById("missing_" + pos);
      const reason = document.getElementById("missing_reason_" + pos);
      if (exc && exc.value) {
        if (!reason.value.trim()) { problems.push(["missing_reason_" + pos, "Jari " + pos + ": tulis alasan pengecualian."]); }
      } else if (!has("finger_" + pos)) {
        problems.push(["finger_" + pos, "Jari " + pos + " belum dipindai (atau tandai tidak ada/cedera dengan alasan)."]);
      }
    }
    const unable = document.getElementById("signature_unable");
    if (unable && unable.checked) {
      if (!document.getElementById("signature_unable_reason").value.trim()) {
        problems.push(["signature_unable_reason", "Tulis alasan tidak dapat bertanda tangan."]);
      }
    } else if (!has("signature") && !typedName()) {
      problems.push(["signature_typed", "Tanda tangan belum ada: tanda tangani papan, ketik nama, unggah, atau centang tidak dapat bertanda tangan."]);
    } else if (typedName() && document.getElementById("signature").files.length > 0) {
      problems.push(["signature_typed", "Tanda tangan digambar/diunggah sekaligus diketik: hapus salah satu."]);
    }
    for (const i of [1, 2]) {
      const phone = document.getElementById("phone_" + i);
      const consent = document.getElementById("consent_" + i);
      if (phone && phone.value.trim() && !/^[+0-9 ()-]{8,20}$/.test(phone.value.trim())) {
        problems.push(["phone_" + i, "Nomor telepon " + i + " tidak valid."]);
      }
      if (consent && consent.checked && phone && !phone.value.trim()) {
        problems.push(["phone_" + i, "Persetujuan dicentang tetapi nomor telepon " + i + " kosong."]);
      }
    }
    return problems;
  }

  // One submit only: a second click while the first is on its way would be a double submit.
  const form = document.getElementById("capture-form");
  if (form) {
    form.addEventListener("submit", ev => {
      const problems = missing();
      const box = document.getElementById("client-errors");
      const list = document.getElementById("client-error-list");
      if (problems.length) {
        ev.preventDefault();
        list.textContent = "";
        problems.forEach(([id, text]) => {
          const li = document.createElement("li");
          const a = document.createElement("a");
          a.href = "#" + id; a.textContent = text;
          li.appendChild(a); list.appendChild(li);
        });
        box.hidden = false;
        box.focus();
        return;
      }
      box.hidden = true;
      const btn = document.getElementById("submit");
      setTimeout(() => { btn.disabled = true; btn.textContent = "Menyimpan…"; }, 0);
    });
  }
})();
