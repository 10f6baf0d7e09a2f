package track

import (
	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Config mirrors the sections of DeepStream nvtracker's low-level config
// (NvMultiObjectTracker YAML): keys keep nvtracker's names and sections so
// configs port over. Only the keys that apply to the IOU and SORT-style
// trackers exist; StateEstimator departs from nvtracker where SORT's model
// needs it (noted per key).
type Config struct {
	BaseConfig       BaseConfig       `toml:"BaseConfig" doc:"input filtering (nvtracker BaseConfig)"`
	TargetManagement TargetManagement `toml:"TargetManagement" doc:"target life cycle: probation, shadow tracking, termination (nvtracker TargetManagement)"`
	DataAssociator   DataAssociator   `toml:"DataAssociator" doc:"matching of detections to targets (nvtracker DataAssociator)"`
	StateEstimator   StateEstimator   `toml:"StateEstimator" doc:"motion model of a target (nvtracker StateEstimator)"`
	ReID             ReID             `toml:"ReID" doc:"appearance features for the DeepSORT-style tracker (nvtracker ReID)"`
}

// ReID types of ReID.reidType.
const (
	ReIDNone      = 0 // no appearance: the cascade matches on Mahalanobis distance alone
	ReIDHistogram = 1 // colour histograms of the box crops (HistogramEmbedder), no model needed
	ReIDExternal  = 2 // features come from an Embedder set with SetEmbedder (a ReID network)
)

// ReID configures appearance features. nvtracker's ReID section runs a
// ReID network (reidType 1 = DEEP there); here type 1 is a colour
// histogram and a network plugs in through the Embedder interface (type 2).
type ReID struct {
	ReIDType        int `toml:"reidType" min:"0" max:"2" doc:"0: none, 1: colour histogram of the box crop (upper and lower half, 16 bins per RGB channel: 96 values), 2: an Embedder set in code"`
	ReIDHistorySize int `toml:"reidHistorySize" min:"1" doc:"features kept per target (DeepSORT's gallery budget); the appearance distance is the least cosine distance to any of them"`
}

// BaseConfig filters detections before tracking.
type BaseConfig struct {
	MinDetectorConfidence float64 `toml:"minDetectorConfidence" doc:"detections with a lower confidence are ignored"`
}

// TargetManagement is the life cycle of a target. A detection that matches
// no target creates a tentative target; it is confirmed — given out with its
// id — once it has been matched in the probationAge frames after the one that
// created it (probationAge 0 confirms at once). A target not matched in a
// frame is shadow-tracked (predicted, not given out); a tentative target is
// terminated after earlyTerminationAge such frames in a row, a confirmed
// one after more than maxShadowTrackingAge.
type TargetManagement struct {
	MaxTargetsPerStream    int     `toml:"maxTargetsPerStream" min:"1" doc:"most targets (tentative, confirmed and shadow) kept per stream; detections beyond it start no target"`
	MinIouDiff4NewTarget   float64 `toml:"minIouDiff4NewTarget" min:"0" max:"1" doc:"an unmatched detection overlapping an existing target with an IoU above this starts no new target (1 disables the check)"`
	ProbationAge           int     `toml:"probationAge" min:"0" doc:"frames a new target must be matched in, after the one that created it, before it is confirmed and output (SORT min_hits − 1)"`
	MaxShadowTrackingAge   int     `toml:"maxShadowTrackingAge" min:"0" doc:"a confirmed target unmatched for more frames in a row than this is terminated (SORT max_age)"`
	EarlyTerminationAge    int     `toml:"earlyTerminationAge" min:"1" doc:"a tentative target unmatched for this many frames in a row is terminated"`
	OutputShadowTracks     bool    `toml:"outputShadowTracks" doc:"also output confirmed targets that were not matched in this frame, at their predicted box"`
	OutputTentativeAtStart bool    `toml:"outputTentativeAtStart" doc:"in the first probationAge+1 frames of a stream, also output matched tentative targets (SORT's rule: every track is output while frame_count ≤ min_hits); not an nvtracker key"`
}

// Matcher types of DataAssociator.AssociationMatcherType (nvtracker's
// numbering).
const (
	MatcherGreedy   = 0 // pairs taken in descending score order
	MatcherGlobal   = 1 // Hungarian: the set of pairs of greatest total score
	MatcherCascaded = 2 // DeepSORT: Mahalanobis-gated appearance matching by track age, then IoU for the rest
)

// DataAssociator pairs detections with targets. A pair is allowed when the
// IoU of the detection with the target's predicted box is above 0 and at
// least minMatchingScore4Iou, the size similarity (min(w)/max(w) ·
// min(h)/max(h)) at least minMatchingScore4SizeSimilarity, the classes agree
// when checkClassMatch is set, and the score — matchingScoreWeight4Iou·IoU +
// matchingScoreWeight4SizeSimilarity·size similarity — at least
// minMatchingScore4Overall.
type DataAssociator struct {
	AssociationMatcherType             int     `toml:"associationMatcherType" min:"0" max:"2" doc:"0: GREEDY (best-scoring pairs first), 1: GLOBAL (Hungarian, greatest total score)"`
	CheckClassMatch                    bool    `toml:"checkClassMatch" doc:"only pair detections with targets of the same class id"`
	MinMatchingScore4Overall           float64 `toml:"minMatchingScore4Overall" min:"0" max:"1e30" doc:"least weighted matching score of an allowed pair"`
	MinMatchingScore4SizeSimilarity    float64 `toml:"minMatchingScore4SizeSimilarity" min:"0" max:"1" doc:"least size similarity of an allowed pair"`
	MinMatchingScore4Iou               float64 `toml:"minMatchingScore4Iou" min:"0" max:"1" doc:"least IoU of an allowed pair (SORT iou_threshold)"`
	MatchingScoreWeight4SizeSimilarity float64 `toml:"matchingScoreWeight4SizeSimilarity" min:"0" max:"1e30" doc:"weight of the size similarity in the matching score"`
	MatchingScoreWeight4Iou            float64 `toml:"matchingScoreWeight4Iou" min:"0" max:"1e30" doc:"weight of the IoU in the matching score"`
	// Cascaded matcher (DeepSORT) only:
	ThresholdMahalanobis            float64 `toml:"thresholdMahalanobis" min:">0" max:"1e30" doc:"cascaded matcher: a detection farther from a target's predicted state than this squared Mahalanobis distance (4 dof) is not matched to it; 9.4877 is the chi-square 95 % quantile DeepSORT uses"`
	MinMatchingScore4ReidSimilarity float64 `toml:"minMatchingScore4ReidSimilarity" min:"0" max:"1" doc:"cascaded matcher: least appearance similarity (1 − cosine distance, best over the target's gallery) of a pair matched in the cascade (DeepSORT 1 − max_cosine_distance)"`
	MatchingScoreWeight4Mahalanobis float64 `toml:"matchingScoreWeight4Mahalanobis" min:"0" max:"1" doc:"cascaded matcher: DeepSORT's λ, the weight of the gated Mahalanobis distance (divided by thresholdMahalanobis) against 1 − λ for the cosine distance in the cascade's cost; 0 uses appearance alone inside the gate; without appearance features the cost is the Mahalanobis term alone"`
}

// State estimator types of StateEstimator.StateEstimatorType.
const (
	EstimatorNone     = 0 // no motion model: a target is its last matched box (IOU tracker)
	EstimatorSORT     = 1 // SORT's constant-velocity Kalman filter on (u, v, s, r)
	EstimatorDeepSORT = 2 // DeepSORT's constant-velocity Kalman filter on (x, y, a, h), noise relative to the box height
)

// StateEstimator is the motion model. For type 1 the state is SORT's
// [u, v, s, r, u', v', s'] (box centre, area, aspect ratio w/h and the
// velocities of the first three), with constant-velocity transition, process
// noise Q = diag(loc, loc, size, size, vel, vel, sizeVel), measurement noise
// R = diag(loc, loc, size, size) on [u, v, s, r] and initial covariance
// diag(pos, pos, pos, pos, vel, vel, vel). The defaults are Bewley et al.
// 2016's (sort.py). nvtracker's noise keys have no aspect-ratio term and one
// measurement noise; these keys split them as SORT does.
type StateEstimator struct {
	StateEstimatorType       int     `toml:"stateEstimatorType" min:"0" max:"2" doc:"0: none (IOU tracker: a target is its last matched box), 1: SORT constant-velocity Kalman filter on (u, v, s, r)"`
	ProcessNoiseVar4Loc      float64 `toml:"processNoiseVar4Loc" min:"0" max:"1e30" doc:"process noise variance of the box centre u, v"`
	ProcessNoiseVar4Size     float64 `toml:"processNoiseVar4Size" min:"0" max:"1e30" doc:"process noise variance of the area s and aspect ratio r"`
	ProcessNoiseVar4Vel      float64 `toml:"processNoiseVar4Vel" min:"0" max:"1e30" doc:"process noise variance of the centre velocity u', v'"`
	ProcessNoiseVar4SizeVel  float64 `toml:"processNoiseVar4SizeVel" min:"0" max:"1e30" doc:"process noise variance of the area velocity s'"`
	MeasurementNoiseVar4Loc  float64 `toml:"measurementNoiseVar4Loc" min:">0" max:"1e30" doc:"measurement noise variance of a detection's centre"`
	MeasurementNoiseVar4Size float64 `toml:"measurementNoiseVar4Size" min:">0" max:"1e30" doc:"measurement noise variance of a detection's area and aspect ratio"`
	InitialCovariance4Pos    float64 `toml:"initialCovariance4Pos" min:">0" max:"1e30" doc:"initial variance of u, v, s, r of a new target"`
	InitialCovariance4Vel    float64 `toml:"initialCovariance4Vel" min:">0" max:"1e30" doc:"initial variance of the (unobserved) velocities of a new target"`
	OutputDetectionBox       bool    `toml:"outputDetectionBox" doc:"output the matched detection's box instead of the filtered state's"`
	NoiseWeightVar4Loc       float64 `toml:"noiseWeightVar4Loc" min:">0" max:"1e30" doc:"type 2: standard deviation of position noise per pixel of box height (DeepSORT std_weight_position 1/20)"`
	NoiseWeightVar4Vel       float64 `toml:"noiseWeightVar4Vel" min:">0" max:"1e30" doc:"type 2: standard deviation of velocity noise per pixel of box height (DeepSORT std_weight_velocity 1/160)"`
}

// DefaultSORT returns the SORT configuration of Bewley et al. 2016
// (min_hits 3, max_age 1, IoU threshold 0.3, Hungarian matching, their
// Kalman noise), in nvtracker's terms.
func DefaultSORT() Config {
	return Config{
		TargetManagement: TargetManagement{
			MaxTargetsPerStream: 1024, MinIouDiff4NewTarget: 1,
			ProbationAge: 2, MaxShadowTrackingAge: 1, EarlyTerminationAge: 1,
			OutputTentativeAtStart: true,
		},
		DataAssociator: DataAssociator{
			AssociationMatcherType:  MatcherGlobal,
			MinMatchingScore4Iou:    0.3,
			MatchingScoreWeight4Iou: 1,
			// cascaded matcher only (DeepSORT's values)
			ThresholdMahalanobis:            9.4877,
			MinMatchingScore4ReidSimilarity: 0.8,
		},
		StateEstimator: StateEstimator{
			StateEstimatorType:  EstimatorSORT,
			ProcessNoiseVar4Loc: 1, ProcessNoiseVar4Size: 1, ProcessNoiseVar4Vel: 0.01, ProcessNoiseVar4SizeVel: 1e-4,
			MeasurementNoiseVar4Loc: 1, MeasurementNoiseVar4Size: 10,
			InitialCovariance4Pos: 10, InitialCovariance4Vel: 1e4,
			// DeepSORT's values, used only with stateEstimatorType 2, so
			// that a config switching to it needs set only the types.
			NoiseWeightVar4Loc: 1.0 / 20, NoiseWeightVar4Vel: 1.0 / 160,
		},
		ReID: ReID{ReIDHistorySize: 100},
	}
}

// DefaultDeepSORT returns DeepSORT (Wojke, Bewley, Paulus, ICIP 2017) with
// the parameters of its reference implementation (nwojke/deep_sort:
// n_init 3, max_age 30, max_iou_distance 0.7, chi-square 95 % gate, budget
// 100, max_cosine_distance 0.2 — appearance similarity ≥ 0.8 —, the
// Kalman filter's std weights 1/20 and 1/160) and the colour histogram
// embedding in place of the ReID network. Colour histograms of people are
// far less distinctive than the network's 128-d features: most pairs
// inside the Mahalanobis gate pass the similarity threshold, so
// appearance mostly ranks the candidates the gate lets through.
func DefaultDeepSORT() Config {
	c := DefaultSORT()
	c.TargetManagement.MaxShadowTrackingAge = 30
	c.TargetManagement.OutputTentativeAtStart = false
	c.DataAssociator.AssociationMatcherType = MatcherCascaded
	c.StateEstimator.StateEstimatorType = EstimatorDeepSORT
	c.ReID.ReIDType = ReIDHistogram
	return c
}

// DefaultIOU returns the IOU tracker (Bochinski et al. 2017, online form):
// no motion model, greedy matching at IoU ≥ 0.5, the same target management
// as DefaultSORT.
func DefaultIOU() Config {
	c := DefaultSORT()
	c.DataAssociator.AssociationMatcherType = MatcherGreedy
	c.DataAssociator.MinMatchingScore4Iou = 0.5
	c.StateEstimator.StateEstimatorType = EstimatorNone
	return c
}

// Validate checks the rules that tie keys together (the tags bound each
// key) and names the offending key.
func (c *Config) Validate() error {
	da, se := &c.DataAssociator, &c.StateEstimator
	if c.BaseConfig.MinDetectorConfidence != c.BaseConfig.MinDetectorConfidence {
		return ds3d.ConfigErrorf("BaseConfig.minDetectorConfidence", "is NaN")
	}
	switch {
	case (da.AssociationMatcherType == MatcherCascaded) != (se.StateEstimatorType == EstimatorDeepSORT):
		return ds3d.ConfigErrorf("DataAssociator.associationMatcherType", "is %d with StateEstimator.stateEstimatorType %d: the cascaded matcher (2) and the DeepSORT filter (2) go together", da.AssociationMatcherType, se.StateEstimatorType)
	}
	if da.MatchingScoreWeight4Iou+da.MatchingScoreWeight4SizeSimilarity <= 0 {
		return ds3d.ConfigErrorf("DataAssociator.matchingScoreWeight4Iou", "and matchingScoreWeight4SizeSimilarity are both 0: no pair could score")
	}
	return nil
}
