// pybind11 bindings: edgesdk._core. Thin: validation and errors come from edgesdk_core;
// each failing Status is raised as the matching edgesdk.errors exception.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "edgesdk/cdf.h"
#include "edgesdk/container.h"
#include "edgesdk/crc32c.h"
#include "edgesdk/intnet.h"
#include "edgesdk/rans.h"

namespace py = pybind11;
using edgesdk::Status;

namespace {

struct StatusError : std::runtime_error {
    StatusError(Status s, const std::string& detail) : std::runtime_error(detail), status(s) {}
    Status status;
};

void check(Status status, const std::string& detail) {
    if (status != Status::kOk) throw StatusError(status, detail.empty() ? edgesdk::status_name(status) : detail);
}

using Int32Array = py::array_t<int32_t, py::array::c_style>;

// Read-only view of any bytes-like object without copying it.
struct ByteView {
    explicit ByteView(const py::buffer& b) : info(b.request()) {
        if (info.ndim != 1 || info.itemsize != 1 || (info.ndim == 1 && info.strides[0] != 1))
            throw StatusError(Status::kInvalidArgument, "expected a contiguous bytes-like object");
        data = static_cast<const uint8_t*>(info.ptr);
        size = static_cast<size_t>(info.size);
    }
    py::buffer_info info;
    const uint8_t* data = nullptr;
    size_t size = 0;
};

py::bytes to_bytes(const std::vector<uint8_t>& v) {
    return py::bytes(reinterpret_cast<const char*>(v.data()), v.size());
}

class PyCdfTables {
public:
    PyCdfTables(const Int32Array& cdfs, const Int32Array& cdf_lengths, const Int32Array& offsets) {
        if (cdfs.ndim() != 2 || cdf_lengths.ndim() != 1 || offsets.ndim() != 1 ||
            cdf_lengths.shape(0) != cdfs.shape(0) || offsets.shape(0) != cdfs.shape(0))
            throw StatusError(Status::kInvalidArgument,
                              "cdfs must be [num_tables, max_length]; cdf_lengths and offsets [num_tables]");
        std::string detail;
        check(edgesdk::rans::CdfTables::create(cdfs.data(), cdfs.shape(0), cdfs.shape(1), cdf_lengths.data(),
                                                offsets.data(), &tables_, &detail),
              detail);
    }

    py::bytes encode(const Int32Array& values, const Int32Array& indexes) const {
        require_same_shape(values, indexes);
        std::vector<uint8_t> out;
        std::string detail;
        Status st;
        {
            py::gil_scoped_release release;
            st = edgesdk::rans::encode(tables_, values.data(), indexes.data(), indexes.size(), &out, &detail);
        }
        check(st, detail);
        return to_bytes(out);
    }

    Int32Array decode(const py::buffer& data, const Int32Array& indexes) const {
        ByteView bytes(data);
        std::vector<py::ssize_t> shape(indexes.shape(), indexes.shape() + indexes.ndim());
        Int32Array out(shape);
        std::string detail;
        Status st;
        {
            py::gil_scoped_release release;
            st = edgesdk::rans::decode(tables_, bytes.data, bytes.size, indexes.data(), indexes.size(),
                                       out.mutable_data(), &detail);
        }
        check(st, detail);
        return out;
    }

    int64_t num_tables() const { return tables_.num_tables(); }

    py::tuple table(int64_t t) const {
        if (t < 0 || t >= tables_.num_tables()) throw py::index_error("table index out of range");
        Int32Array cdf(tables_.cdf_length(t));
        for (int32_t k = 0; k < tables_.cdf_length(t); ++k) cdf.mutable_data()[k] = int32_t(tables_.cdf(t)[k]);
        return py::make_tuple(cdf, tables_.offset(t));
    }

private:
    static void require_same_shape(const Int32Array& a, const Int32Array& b) {
        if (a.ndim() != b.ndim() || !std::equal(a.shape(), a.shape() + a.ndim(), b.shape()))
            throw StatusError(Status::kInvalidArgument, "values and indexes must have the same shape");
    }
    edgesdk::rans::CdfTables tables_;
};

Int32Array to_array(const std::vector<int32_t>& v) {
    Int32Array out(static_cast<py::ssize_t>(v.size()));
    if (!v.empty()) std::memcpy(out.mutable_data(), v.data(), v.size() * sizeof(int32_t));
    return out;
}

py::tuple header_tuple(const edgesdk::container::FrameHeader& h) {
    py::list params;
    for (const auto& p : h.parameters) params.append(py::make_tuple(p.key, p.value));
    return py::make_tuple(h.major_version, h.minor_version, static_cast<int>(h.frame_type), h.quality,
                          py::bytes(reinterpret_cast<const char*>(h.model_id.data()), h.model_id.size()), h.width,
                          h.height, params);
}

// Views of (kind, buffer) pairs; ``views`` keeps the buffers alive while they are used.
std::vector<edgesdk::container::SectionView> section_views_of(
    const std::vector<std::pair<uint16_t, py::buffer>>& sections, std::vector<ByteView>* views) {
    views->reserve(sections.size());
    std::vector<edgesdk::container::SectionView> out;
    for (const auto& s : sections) {
        views->emplace_back(s.second);
        if (views->back().size > 0xFFFFFFFFu) throw StatusError(Status::kLimitExceeded, "section over 4 GiB");
        out.push_back({s.first, views->back().data, uint32_t(views->back().size), 0});
    }
    return out;
}

// A frame header from the binding's arguments (type and quality must fit in a byte).
edgesdk::container::FrameHeader header_of(int frame_type, int quality, uint32_t width, uint32_t height,
                                          const std::vector<std::pair<uint16_t, int32_t>>& parameters) {
    if (frame_type < 0 || frame_type > 255 || quality < 0 || quality > 255)
        throw StatusError(Status::kInvalidArgument, "frame_type and quality must fit in a byte");
    edgesdk::container::FrameHeader h;
    h.frame_type = static_cast<edgesdk::container::FrameType>(frame_type);
    h.quality = static_cast<uint8_t>(quality);
    h.width = width;
    h.height = height;
    for (const auto& p : parameters) h.parameters.push_back({p.first, p.second});
    return h;
}

// The bytes of a frame (or, with ``compact``, a compact inter frame) of ``h`` and ``sections``.
py::bytes frame_bytes(const edgesdk::container::FrameHeader& h,
                      const std::vector<std::pair<uint16_t, py::buffer>>& sections, bool compact) {
    std::vector<ByteView> views;
    const auto section_views = section_views_of(sections, &views);
    std::vector<uint8_t> out;
    std::string detail;
    check(compact ? edgesdk::container::write_compact_frame(h, section_views, &out, &detail)
                  : edgesdk::container::write_frame(h, section_views, &out, &detail),
          detail);
    return to_bytes(out);
}

py::tuple packet_header_tuple(const edgesdk::container::PacketHeader& h) {
    return py::make_tuple(h.flags, h.stream_id, h.sequence, h.payload_size, h.payload_crc);
}

class PyPacketReader {
public:
    explicit PyPacketReader(uint32_t max_payload) : reader_(max_payload) {}
    void feed(const py::buffer& data) {
        ByteView bytes(data);
        reader_.feed(bytes.data, bytes.size);
    }
    // (kind, header tuple or None, payload bytes or None, count) or None when more input is needed.
    py::object next() {
        edgesdk::container::PacketReader::Event e;
        if (!reader_.next(&e)) return py::none();
        using Kind = edgesdk::container::PacketReader::Event::Kind;
        const char* kind = e.kind == Kind::kPacket        ? "packet"
                           : e.kind == Kind::kSkippedBytes ? "skipped_bytes"
                           : e.kind == Kind::kBadPayload   ? "bad_payload"
                                                           : "sequence_gap";
        py::object header = e.kind == Kind::kSkippedBytes ? py::none() : py::object(packet_header_tuple(e.header));
        py::object payload = e.kind == Kind::kPacket ? py::object(to_bytes(e.payload)) : py::none();
        return py::make_tuple(kind, header, payload, e.count);
    }
    size_t pending_bytes() const { return reader_.pending_bytes(); }
    uint64_t pending_skipped_bytes() const { return reader_.pending_skipped_bytes(); }

private:
    edgesdk::container::PacketReader reader_;
};

class PyIntNetwork {
public:
    explicit PyIntNetwork(const py::buffer& blob) {
        ByteView bytes(blob);
        std::string detail;
        check(edgesdk::intnet::Network::parse(bytes.data, bytes.size, &network_, &detail), detail);
    }

    // x: [N, C, H, W] or [C, H, W]; returns the same rank. kernel: "auto", or one kernel by name
    // for benchmarks and tests that compare them (the same integers from each).
    Int32Array run(const Int32Array& x, const std::string& kernel) const {
        const edgesdk::intnet::Kernel chosen = kernel_by_name(kernel);
        if (x.ndim() != 3 && x.ndim() != 4)
            throw StatusError(Status::kInvalidArgument, "integer network input must be [N, C, H, W] or [C, H, W]");
        const bool batched = x.ndim() == 4;
        const int64_t n = batched ? x.shape(0) : 1;
        const int64_t c = x.shape(batched ? 1 : 0), h = x.shape(batched ? 2 : 1), w = x.shape(batched ? 3 : 2);
        if (c != network_.input_channels())
            throw StatusError(Status::kInvalidArgument, "integer network expects " +
                                                            std::to_string(network_.input_channels()) +
                                                            " input channels, got " + std::to_string(c));
        int64_t oc = 0, oh = 0, ow = 0;
        network_.output_shape(h, w, &oc, &oh, &ow);
        std::vector<py::ssize_t> shape = {oc, oh, ow};
        if (batched) shape.insert(shape.begin(), n);
        std::string detail;
        Status st = Status::kOk;
        std::vector<int32_t> image;
        Int32Array out;
        for (int64_t b = 0; b < n && st == Status::kOk; ++b) {
            {
                py::gil_scoped_release release;
                st = network_.run(x.data() + b * c * h * w, h, w, &image, &detail, chosen);
            }
            if (st != Status::kOk) break;
            if (b == 0) out = Int32Array(shape);
            std::memcpy(out.mutable_data() + b * oc * oh * ow, image.data(), image.size() * sizeof(int32_t));
        }
        check(st, detail);
        if (n == 0) out = Int32Array(shape);
        return out;
    }

    uint32_t input_channels() const { return network_.input_channels(); }

    // The kernels this build and CPU can run, by name ("auto" first).
    static std::vector<std::string> kernels() {
        std::vector<std::string> names;
        for (const auto& [name, kernel] : kKernels)
            if (edgesdk::intnet::kernel_available(kernel)) names.push_back(name);
        return names;
    }

private:
    static constexpr std::pair<const char*, edgesdk::intnet::Kernel> kKernels[] = {
        {"auto", edgesdk::intnet::Kernel::kAuto}, {"portable", edgesdk::intnet::Kernel::kPortable},
        {"avx2", edgesdk::intnet::Kernel::kAvx2}, {"avx512_vnni", edgesdk::intnet::Kernel::kAvx512Vnni}};

    static edgesdk::intnet::Kernel kernel_by_name(const std::string& name) {
        for (const auto& [known, kernel] : kKernels)
            if (name == known) return kernel;
        throw StatusError(Status::kInvalidArgument, "unknown integer network kernel '" + name +
                                                        "'; choose auto, portable, avx2 or avx512_vnni");
    }

    edgesdk::intnet::Network network_;
};

}  // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() = "edgesdk C++ core: rANS coder, CDF tables, latent container and packets";

    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const StatusError& e) {
            py::object errors = py::module_::import("edgesdk.errors");
            py::object exc = errors.attr("error_for_status")(static_cast<int>(e.status), e.what());
            PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
        }
    });

    m.attr("PRECISION") = edgesdk::rans::kPrecision;
    m.attr("LANES") = edgesdk::rans::kLanes;
    m.attr("MAX_CDF_LENGTH") = edgesdk::rans::kMaxCdfLength;
    m.attr("FRAME_MAJOR_VERSION") = edgesdk::container::kFrameMajorVersion;
    m.attr("FRAME_MINOR_VERSION") = edgesdk::container::kFrameMinorVersion;
    m.attr("MAX_PARAMETERS") = edgesdk::container::kMaxParameters;
    m.attr("MAX_SECTIONS") = edgesdk::container::kMaxSections;
    m.attr("MAX_DIMENSION") = edgesdk::container::kMaxDimension;
    m.attr("PACKET_HEADER_SIZE") = edgesdk::container::kPacketHeaderSize;
    m.attr("DEFAULT_MAX_PAYLOAD") = edgesdk::container::kDefaultMaxPayload;

    py::class_<PyCdfTables>(m, "CdfTables")
        .def(py::init<const Int32Array&, const Int32Array&, const Int32Array&>(), py::arg("cdfs"),
             py::arg("cdf_lengths"), py::arg("offsets"))
        .def("encode", &PyCdfTables::encode, py::arg("values"), py::arg("indexes"))
        .def("decode", &PyCdfTables::decode, py::arg("data"), py::arg("indexes"))
        .def_property_readonly("num_tables", &PyCdfTables::num_tables)
        .def("table", &PyCdfTables::table, py::arg("index"));

    m.def("quantize_pmf", [](const py::array_t<double, py::array::c_style>& pmf, double tail_mass) {
        if (pmf.ndim() != 1) throw StatusError(Status::kInvalidArgument, "pmf must be one-dimensional");
        std::vector<int32_t> cdf;
        std::string detail;
        check(edgesdk::cdf::quantize_pmf(pmf.data(), pmf.size(), tail_mass, &cdf, &detail), detail);
        return to_array(cdf);
    }, py::arg("pmf"), py::arg("tail_mass"));

    m.def("gaussian_cdf", [](double scale, double tail_mass) {
        std::vector<int32_t> cdf;
        int32_t offset = 0;
        std::string detail;
        check(edgesdk::cdf::gaussian_cdf(scale, tail_mass, &cdf, &offset, &detail), detail);
        return py::make_tuple(to_array(cdf), offset);
    }, py::arg("scale"), py::arg("tail_mass"));

    m.def("deterministic_erfc", &edgesdk::cdf::deterministic_erfc);
    m.def("deterministic_exp", &edgesdk::cdf::deterministic_exp);

    m.def("crc32c", [](const py::buffer& data, uint32_t crc) {
        ByteView bytes(data);
        return edgesdk::crc32c(bytes.data, bytes.size, crc);
    }, py::arg("data"), py::arg("crc") = 0);

    m.def("write_frame", [](int minor_version, int frame_type, int quality, const py::bytes& model_id, uint32_t width,
                            uint32_t height, const std::vector<std::pair<uint16_t, int32_t>>& parameters,
                            const std::vector<std::pair<uint16_t, py::buffer>>& sections) {
        edgesdk::container::FrameHeader h = header_of(frame_type, quality, width, height, parameters);
        const std::string id = model_id;
        if (id.size() != h.model_id.size()) throw StatusError(Status::kInvalidArgument, "model_id must be 32 bytes");
        if (minor_version < 0 || minor_version > 255)
            throw StatusError(Status::kInvalidArgument, "minor_version must fit in a byte");
        h.minor_version = static_cast<uint8_t>(minor_version);
        std::memcpy(h.model_id.data(), id.data(), id.size());
        return frame_bytes(h, sections, false);
    });

    // Returns (header tuple, [(kind, offset, size, crc)], header_size, compact); offsets index into data.
    m.def("parse_frame", [](const py::buffer& data) {
        ByteView bytes(data);
        edgesdk::container::FrameView view;
        std::string detail;
        check(edgesdk::container::parse_frame(bytes.data, bytes.size, &view, &detail), detail);
        py::list sections;
        for (const auto& s : view.sections)
            sections.append(py::make_tuple(s.kind, size_t(s.data - bytes.data), s.size, s.crc));
        return py::make_tuple(header_tuple(view.header), sections, view.header_size, view.compact);
    });

    m.def("write_compact_frame", [](int frame_type, int quality, uint32_t width, uint32_t height,
                                    const std::vector<std::pair<uint16_t, int32_t>>& parameters,
                                    const std::vector<std::pair<uint16_t, py::buffer>>& sections) {
        return frame_bytes(header_of(frame_type, quality, width, height, parameters), sections, true);
    });

    m.def("write_packet", [](int flags, uint32_t stream_id, uint64_t sequence, const py::buffer& payload) {
        ByteView bytes(payload);
        if (flags < 0 || flags > 255) throw StatusError(Status::kInvalidArgument, "flags must fit in a byte");
        edgesdk::container::PacketHeader h;
        h.flags = static_cast<uint8_t>(flags);
        h.stream_id = stream_id;
        h.sequence = sequence;
        std::vector<uint8_t> out;
        std::string detail;
        check(edgesdk::container::write_packet(h, bytes.data, bytes.size, &out, &detail), detail);
        return to_bytes(out);
    });

    // Returns (header tuple, payload offset, consumed bytes) for the packet at the start of data.
    m.def("parse_packet", [](const py::buffer& data, uint32_t max_payload) {
        ByteView bytes(data);
        edgesdk::container::PacketHeader h;
        const uint8_t* payload = nullptr;
        size_t consumed = 0;
        std::string detail;
        check(edgesdk::container::parse_packet(bytes.data, bytes.size, max_payload, &h, &payload, &consumed,
                                               &detail),
              detail);
        return py::make_tuple(packet_header_tuple(h), size_t(payload - bytes.data), consumed);
    }, py::arg("data"), py::arg("max_payload") = edgesdk::container::kDefaultMaxPayload);

    py::class_<PyIntNetwork>(m, "IntNetwork")
        .def(py::init<const py::buffer&>(), py::arg("blob"))
        .def("run", &PyIntNetwork::run, py::arg("x"), py::arg("kernel") = "auto")
        .def_static("kernels", &PyIntNetwork::kernels)
        .def_property_readonly("input_channels", &PyIntNetwork::input_channels);

    py::class_<PyPacketReader>(m, "PacketReader")
        .def(py::init<uint32_t>(), py::arg("max_payload") = edgesdk::container::kDefaultMaxPayload)
        .def("feed", &PyPacketReader::feed)
        .def("next", &PyPacketReader::next)
        .def_property_readonly("pending_bytes", &PyPacketReader::pending_bytes)
        .def_property_readonly("pending_skipped_bytes", &PyPacketReader::pending_skipped_bytes);
}
