"""Typed biometric errors, each with a stable code and messages in Bahasa Indonesia and English."""

from __future__ import annotations


class BiometricError(Exception):
    """Base of every biometric failure; never raised for a merely low score."""

    code = "biometric_error"
    message_id = "Kesalahan biometrik."
    message_en = "Biometric error."

    def __init__(self, detail: str = "") -> None:
        self.detail = detail
        super().__init__(f"{self.code}: {self.message_en}" + (f" ({detail})" if detail else ""))

    def to_dict(self) -> dict[str, str]:
        """Serialisable form for API problem details and logs."""
        return {
            "code": self.code,
            "message_id": self.message_id,
            "message_en": self.message_en,
            "detail": self.detail,
        }


class NotAnImage(BiometricError):
    code = "not_an_image"
    message_id = "Berkas bukan gambar yang dapat dibaca."
    message_en = "The data is not a readable image."


class ImageTooSmall(BiometricError):
    code = "image_too_small"
    message_id = "Gambar terlalu kecil."
    message_en = "The image is too small."


class NoFaceFound(BiometricError):
    code = "no_face_found"
    message_id = "Wajah tidak ditemukan pada foto."
    message_en = "No face was found in the photo."


class MultipleFaces(BiometricError):
    code = "multiple_faces"
    message_id = ("Ada dua wajah yang sama-sama bisa menjadi subjek foto. Pastikan hanya pemohon yang "
                  "berada di tengah bingkai, orang lain menjauh, lalu ambil ulang foto.")
    message_en = ("Two faces could equally be the subject. Make sure only the applicant is centred in the "
                  "frame, others step away, then take the photo again.")


class FaceTooSmall(BiometricError):
    code = "face_too_small"
    message_id = "Wajah terlalu kecil pada foto."
    message_en = "The face is too small in the photo."


class BlankImage(BiometricError):
    code = "blank_image"
    message_id = "Gambar kosong (tidak ada sidik jari)."
    message_en = "The image is blank (no fingerprint)."


class NoRidgeStructure(BiometricError):
    code = "no_ridge_structure"
    message_id = "Pola guratan sidik jari tidak terdeteksi."
    message_en = "No fingerprint ridge structure was found."


class TooFewMinutiae(BiometricError):
    code = "too_few_minutiae"
    message_id = "Titik minusi sidik jari terlalu sedikit."
    message_en = "Too few fingerprint minutiae were found."


class CorruptTemplate(BiometricError):
    code = "corrupt_template"
    message_id = "Templat biometrik rusak atau tidak dikenali."
    message_en = "The biometric template is corrupt or unrecognised."


class ModalityMismatch(BiometricError):
    code = "modality_mismatch"
    message_id = "Jenis templat biometrik tidak cocok."
    message_en = "The biometric templates are of different modalities."


class NativeLibraryMissing(BiometricError):
    code = "native_library_missing"
    message_id = "Pustaka native sidik jari belum dibangun (jalankan scripts/build-native.sh)."
    message_en = "The fingerprint native library is not built (run scripts/build-native.sh)."


class UnknownReference(BiometricError):
    code = "unknown_reference"
    message_id = "Referensi tidak ada di galeri."
    message_en = "The reference id is not in the gallery."
