package ros2

import "fmt"

// OdometryType is the ROS 2 name of the odometry message.
const OdometryType = "nav_msgs/msg/Odometry"

// Pose is geometry_msgs/msg/Pose.
type Pose struct {
	Position    [3]float64
	Orientation [4]float64 // x y z w
}

// PoseWithCovariance is geometry_msgs/msg/PoseWithCovariance: the 6×6
// covariance row-major over x y z and rotations about x, y, z.
type PoseWithCovariance struct {
	Pose       Pose
	Covariance [36]float64
}

// Twist is geometry_msgs/msg/Twist.
type Twist struct {
	Linear, Angular [3]float64
}

// TwistWithCovariance is geometry_msgs/msg/TwistWithCovariance.
type TwistWithCovariance struct {
	Twist      Twist
	Covariance [36]float64
}

// Odometry is nav_msgs/msg/Odometry: the pose in Header.FrameID, the twist
// in ChildFrameID.
type Odometry struct {
	Header       Header
	ChildFrameID string
	Pose         PoseWithCovariance
	Twist        TwistWithCovariance
}

// DecodeOdometry decodes a CDR nav_msgs/msg/Odometry.
func DecodeOdometry(b []byte) (*Odometry, error) {
	o := new(Odometry)
	if err := o.Unmarshal(b); err != nil {
		return nil, err
	}
	return o, nil
}

// Unmarshal is DecodeOdometry into o, reusing its strings.
func (o *Odometry) Unmarshal(b []byte) error {
	d, err := newDec(b)
	if err != nil {
		return fmt.Errorf("Odometry: %w", err)
	}
	d.header(&o.Header)
	d.str(&o.ChildFrameID, "child_frame_id")
	d.pose(&o.Pose.Pose, "pose.pose")
	d.f64s(o.Pose.Covariance[:], "pose.covariance")
	d.f64s(o.Twist.Twist.Linear[:], "twist.twist.linear")
	d.f64s(o.Twist.Twist.Angular[:], "twist.twist.angular")
	d.f64s(o.Twist.Covariance[:], "twist.covariance")
	return d.done("Odometry")
}

func (d *dec) pose(p *Pose, what string) {
	d.f64s(p.Position[:], what)
	d.f64s(p.Orientation[:], what)
}

// AppendOdometry appends o as a CDR message to dst.
func AppendOdometry(dst []byte, o *Odometry) []byte {
	w := NewWriter(dst)
	w.Header(&o.Header)
	w.String(o.ChildFrameID)
	w.pose(&o.Pose.Pose)
	w.Float64s(o.Pose.Covariance[:])
	w.Float64s(o.Twist.Twist.Linear[:])
	w.Float64s(o.Twist.Twist.Angular[:])
	w.Float64s(o.Twist.Covariance[:])
	return w.Bytes()
}

func (w *Writer) pose(p *Pose) {
	w.Float64s(p.Position[:])
	w.Float64s(p.Orientation[:])
}
