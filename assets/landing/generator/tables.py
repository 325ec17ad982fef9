"""Realism tables of the synthetic data generator: name pools, place words, industries and weights.

The catalog rules decide what a value must satisfy; these tables only make valid values look like the
data a Zhongwei department would deliver. Everything is keyed by catalog column name, enum value or
county code, so an unknown column or value falls back to plain rule-driven values.
"""

from __future__ import annotations

from typing import NamedTuple

# --- people -------------------------------------------------------------------------------------

# Han surnames with rough national frequencies (per cent), 马 raised for Ningxia.
HAN_SURNAMES: dict[str, float] = {
    "王": 7.1, "李": 7.0, "张": 6.7, "刘": 5.4, "陈": 4.5, "杨": 3.4, "黄": 2.1, "赵": 2.0,
    "吴": 1.9, "周": 1.9, "徐": 1.5, "孙": 1.5, "马": 2.4, "朱": 1.3, "胡": 1.3, "郭": 1.2,
    "何": 1.2, "高": 1.2, "林": 1.1, "罗": 1.1, "郑": 1.0, "梁": 1.0, "谢": 0.8, "宋": 0.8,
    "唐": 0.8, "许": 0.7, "韩": 0.7, "冯": 0.7, "邓": 0.7, "曹": 0.7, "彭": 0.6, "曾": 0.6,
    "肖": 0.6, "田": 0.8, "董": 0.5, "袁": 0.5, "潘": 0.5, "于": 0.5, "蒋": 0.5, "蔡": 0.5,
    "余": 0.5, "杜": 0.5, "叶": 0.5, "程": 0.5, "苏": 0.4, "魏": 0.4, "吕": 0.4, "丁": 0.4,
    "任": 0.4, "沈": 0.4, "姚": 0.4, "卢": 0.4, "姜": 0.4, "崔": 0.4, "钟": 0.4, "谭": 0.3,
    "陆": 0.3, "汪": 0.3, "范": 0.3, "金": 0.3, "石": 0.3, "廖": 0.3, "贾": 0.3, "夏": 0.3,
    "付": 0.3, "方": 0.3, "白": 0.3, "邹": 0.3, "孟": 0.3, "秦": 0.3, "邱": 0.3, "尹": 0.3,
    "薛": 0.2, "闫": 0.2, "段": 0.2, "雷": 0.2, "侯": 0.2, "史": 0.2, "贺": 0.2, "毛": 0.2,
    "郝": 0.2, "万": 0.2, "武": 0.2, "常": 0.2, "康": 0.2, "牛": 0.2, "樊": 0.2, "安": 0.2,
    "乔": 0.2, "拓": 0.1, "欧阳": 0.05, "司马": 0.01,
}  # fmt: skip

# Surnames common among the Hui (回族) of Ningxia.
HUI_SURNAMES: dict[str, float] = {
    "马": 30, "杨": 6, "李": 5, "海": 4, "丁": 4, "王": 4, "金": 3, "田": 3, "张": 3, "冯": 2,
    "虎": 2, "白": 2, "穆": 2, "苏": 2, "刘": 2, "何": 2, "拓": 1, "米": 1, "者": 1, "锁": 1,
    "哈": 1, "纳": 1, "余": 1, "撒": 1, "沙": 1, "喜": 1,
}  # fmt: skip

MALE_GIVEN = (
    "伟刚勇毅俊峰强军平保东文辉力明永健世广志义兴良海山仁波宁贵福生龙元全国胜学祥才发武新利清飞"
    "彬富顺信杰涛昌成康星光天达安岩中茂进林有坚和博诚先敬振壮会思群豪邦承乐绍功松善厚庆磊民友裕"
    "河哲江超浩亮政谦奇翰朗宏鸣朋斌栋维启克伦翔旭鹏泽晨辰建家致树德行泰盛雄钧冠腾航忠"
)
FEMALE_GIVEN = (
    "秀娟英华慧巧美娜静淑惠珠翠雅芝玉萍红娥玲芬芳燕彩春菊兰凤洁梅琳素云莲真雪荣爱霞香月媛艳瑞"
    "佳嘉琼勤珍贞莉桂叶璐琦晶妍茜秋珊莎锦青倩婷婉娴瑾颖露瑶怡雁蓓仪荷丹蓉君琴蕊薇菁梦岚馨韵"
    "园艺悦昭冰爽茗羽希欣育柔竹凝晓欢枫芸菲伊亚宜舒影丽阳妮宝"
)
SINGLE_GIVEN_NAME_SHARE = 0.22

# Share of the Hui among residents, by county (rough census shares); others are mostly Han.
HUI_SHARE: dict[str, float] = {"640502": 0.14, "640521": 0.21, "640522": 0.72}
DEFAULT_HUI_SHARE = 0.3
OTHER_ETHNICITY_SHARE = 0.01

# --- places -------------------------------------------------------------------------------------

PROVINCE_BY_PREFIX: dict[str, str] = {"64": "宁夏回族自治区"}
PROVINCE_ABBREVIATION: dict[str, str] = {"64": "宁"}
AREA_CODE_BY_CITY: dict[str, str] = {"640500": "0955"}
DEFAULT_AREA_CODE = "0951"
# First digit of local landline numbers in each county's exchange.
LANDLINE_LEAD_BY_COUNTY: dict[str, str] = {"640502": "7", "640521": "5", "640522": "4"}

# Rough bounding boxes (lon_min, lon_max, lat_min, lat_max) of the counties.
COUNTY_BOUNDS: dict[str, tuple[float, float, float, float]] = {
    "640502": (104.28, 105.58, 36.93, 37.73),
    "640521": (105.28, 106.12, 36.92, 37.70),
    "640522": (105.18, 106.18, 36.10, 36.98),
}

VILLAGE_STEMS = (
    "东关", "西关", "南街", "北街", "红柳", "黄河", "枣园", "古城", "康滩", "田滩", "营盘", "高桥",
    "杨家", "马家", "王团", "李园", "沙渠", "永丰", "朝阳", "团结", "胜利", "新华", "长滩", "红旗",
    "立新", "丰收", "双井", "刘庄", "宋营", "白套", "碱沟", "渠口", "黄羊", "新庄", "石塘", "柳青",
    "河湾", "西园", "张洪", "倪丁", "孟湾", "南湾", "旱台", "兴隆", "金沙", "梁水",
)  # fmt: skip
ROADS = (
    "长城街", "黄河路", "文萃路", "鼓楼街", "应理路", "宁安大街", "枸杞大道", "团结路", "新华路",
    "解放路", "人民路", "建设路", "育才路", "中山街", "迎宾大道", "滨河路", "沙坡头大道", "怀远路",
    "平安路", "和谐路", "兴海路", "海城路", "南关街", "东环路", "西环路", "北门街",
)  # fmt: skip
COMPOUND_STEMS = ("金域", "阳光", "盛世", "锦绣", "东方", "御景", "水岸", "世纪", "翠苑", "丽景",
                  "康居", "福苑", "惠民", "馨园", "黄河湾", "枸杞城")  # fmt: skip
COMPOUND_SUFFIXES = ("花园", "小区", "家园", "佳苑", "新城", "嘉苑")

# --- organisations ------------------------------------------------------------------------------

TRADE_NAME_CHARS = (
    "鑫源宏泰华盛祥瑞丰达金宁杞沙恒昌隆兴润安通顺广利汇联天正聚嘉禾博远峰众德信和美佳新富荣益康星辉"
)
ENTERPRISE_FORMS: dict[str, float] = {
    "有限公司": 70,
    "有限责任公司": 22,
    "股份有限公司": 3,
    "集团有限公司": 1,
}


class Industry(NamedTuple):
    """A GB/T 4754 code with the words an entity of that industry puts in its name."""

    code: str
    weight: float
    enterprise: str  # 宁夏鑫源{枸杞产业开发}有限公司
    shop: str  # 中宁县鑫源{超市} (个体工商户)
    cooperative: str | None  # 中宁县石空镇鑫源{枸杞种植}专业合作社 (farm industries only)


INDUSTRIES: tuple[Industry, ...] = (
    Industry("A0171", 6, "枸杞产业开发", "枸杞种植园", "枸杞种植"),
    Industry("A0141", 4, "农业发展", "蔬菜种植园", "蔬菜种植"),
    Industry("A0152", 2, "葡萄种植", "葡萄园", "葡萄种植"),
    Industry("A031", 4, "牧业", "养殖场", "肉羊养殖"),
    Industry("A05", 2, "农业服务", "农机服务部", "农机服务"),
    Industry("C1515", 1, "葡萄酒业", "酒坊", None),
    Industry("C3021", 1, "建材", "建材门市部", None),
    Industry("D4415", 1, "风力发电", "电器维修部", None),
    Industry("D4416", 2, "新能源", "太阳能经销部", None),
    Industry("E4710", 3, "建筑工程", "装修部", None),
    Industry("E48", 2, "路桥工程", "土方工程队", None),
    Industry("F5212", 6, "商贸", "超市", None),
    Industry("F5211", 2, "百货", "百货商店", None),
    Industry("F5223", 4, "果蔬贸易", "果蔬店", None),
    Industry("F5265", 1, "石油销售", "加油站", None),
    Industry("F51", 3, "贸易", "批发部", None),
    Industry("G543", 3, "物流", "货运部", None),
    Industry("H6210", 6, "餐饮管理", "饭馆", None),
    Industry("H6110", 1, "酒店管理", "宾馆", None),
    Industry("I65", 1, "信息技术", "电脑服务部", None),
    Industry("K7010", 1, "房地产开发", "房屋中介部", None),
    Industry("O8111", 3, "汽车服务", "汽车修理部", None),
    Industry("O80", 2, "家政服务", "理发店", None),
    Industry("L72", 2, "企业管理咨询", "商务服务部", None),
)

# GB 32100 registration-management codes (登记管理部门 + 机构类别) and how often each kind occurs.
OWN_USCC_TYPES: dict[str, float] = {
    "91": 58,
    "92": 36,
    "93": 6,
}  # enterprises, 个体工商户, 农民专业合作社
EMPLOYER_USCC_TYPES: dict[str, float] = {"91": 80, "12": 12, "11": 3, "52": 3, "93": 2}

# Medical institutions: registration type, name pattern and beds by category (机构类别).
MEDICAL_USCC_TYPES: dict[str, dict[str, float]] = {
    "综合医院": {"12": 6, "91": 3, "52": 1},
    "中医医院": {"12": 8, "52": 1, "91": 1},
    "专科医院": {"91": 6, "52": 3, "12": 1},
    "乡镇卫生院": {"12": 1},
    "社区卫生服务中心": {"12": 1},
    "村卫生室": {"52": 3, "12": 2},
    "诊所": {"92": 7, "91": 3},
}
SPECIALTIES = ("口腔", "眼科", "妇产", "骨科", "皮肤病", "康复", "肛肠", "儿童")
CONDITIONAL_ENUM_WEIGHTS: dict[str, tuple[str, dict[str, dict[str, float]]]] = {
    "grade": (
        "category",
        {
            "综合医院": {"三级甲等": 1, "三级": 1, "二级": 6, "一级": 2},
            "中医医院": {"三级": 1, "二级": 6, "一级": 1},
            "专科医院": {"二级": 2, "一级": 5, "未定级": 3},
            "乡镇卫生院": {"一级": 8, "未定级": 2},
            "社区卫生服务中心": {"一级": 7, "未定级": 3},
            "村卫生室": {"未定级": 1},
            "诊所": {"未定级": 1},
        },
    ),
}
CONDITIONAL_NUMBER_RANGES: dict[str, tuple[str, dict[str, tuple[float, float]]]] = {
    "beds": (
        "category",
        {
            "综合医院": (100, 900),
            "中医医院": (50, 400),
            "专科医院": (10, 150),
            "乡镇卫生院": (10, 60),
            "社区卫生服务中心": (0, 30),
            "村卫生室": (0, 2),
            "诊所": (0, 6),
        },
    ),
    "amount": (
        "subsidy_type",
        {
            "耕地地力保护补贴": (80, 3000),
            "农机购置补贴": (1500, 60000),
            "枸杞产业补贴": (300, 8000),
            "硒砂瓜种植补贴": (200, 5000),
            "农业保险保费补贴": (50, 2000),
        },
    ),
}

# --- enum weights -------------------------------------------------------------------------------

# Relative frequency of enum values; a value not listed weighs the mean of the listed ones.
VALUE_WEIGHTS: dict[str, float] = {
    "男": 51, "女": 49,
    "存续": 55, "在业": 30, "吊销": 4, "注销": 8, "迁入": 2, "迁出": 1,
    "已受理": 20, "办理中": 30, "已办结": 50,
    "正常参保": 85, "暂停参保": 10, "终止参保": 5,
    "住宅": 70, "商业": 12, "工业": 5, "办公": 5, "其他": 8,
    "耕地地力保护补贴": 40, "农机购置补贴": 8, "枸杞产业补贴": 20, "硒砂瓜种植补贴": 15,
    "农业保险保费补贴": 17,
    "城乡居民基本医疗保险": 30, "城乡居民基本养老保险": 25, "职工基本医疗保险": 15,
    "企业职工基本养老保险": 15, "失业保险": 8, "工伤保险": 7,
    "综合医院": 3, "中医医院": 1, "专科医院": 3, "乡镇卫生院": 10, "社区卫生服务中心": 4,
    "村卫生室": 50, "诊所": 30,
}  # fmt: skip

# --- numbers and dates --------------------------------------------------------------------------


class LogNormal(NamedTuple):
    median: float
    sigma: float


NUMBER_SHAPES: dict[str, LogNormal] = {
    "amount": LogNormal(1200, 0.9),
    "registered_capital": LogNormal(50, 1.5),
    "contribution_base": LogNormal(5200, 0.35),
    "area_sqm": LogNormal(105, 0.4),
    "beds": LogNormal(20, 1.2),
}
DECIMAL_PLACES: dict[str, int] = {"longitude": 6, "latitude": 6, "lng": 6, "lon": 6, "lat": 6}
LONGITUDE_COLUMNS = frozenset({"longitude", "lng", "lon"})
LATITUDE_COLUMNS = frozenset({"latitude", "lat"})


class DateShape(NamedTuple):
    """A date column's spread: a share inside the period, the rest from ``since`` to the period."""

    since_year: int
    inside_share: float


DATE_SHAPES: dict[str, DateShape] = {
    "established_on": DateShape(1992, 0.3),
    "enrolled_on": DateShape(2005, 0.25),
}
BIRTH_COLUMNS = frozenset({"birth_date", "date_of_birth", "born_on"})

# Ages (years) of people in a population register, and of adults anywhere else: (low, high, weight).
POPULATION_AGES: tuple[tuple[int, int, float], ...] = ((0, 15, 17), (15, 60, 62), (60, 95, 21))
ADULT_AGES: tuple[tuple[int, int, float], ...] = ((18, 35, 30), (35, 60, 50), (60, 85, 20))

# Share of an optional (not required) column left empty, by column; others use the default.
OPTIONAL_EMPTY_SHARE: dict[str, float] = {"phone": 0.12}
DEFAULT_OPTIONAL_EMPTY_SHARE = 0.08

# --- volume -------------------------------------------------------------------------------------

# Relative number of rows a dataset delivers per county and period; others weigh 1.
DATASET_ROW_WEIGHTS: dict[str, float] = {
    "household_registration": 6,
    "social_insurance_enrollment": 5,
    "market_entities": 3,
    "agricultural_subsidies": 3,
    "real_estate_registration": 2,
    "petition_records": 0.6,
    "medical_institutions": 0.3,
}

# --- phones and cards ---------------------------------------------------------------------------

MOBILE_PREFIXES: dict[str, float] = {
    "139": 6, "138": 6, "137": 4, "136": 4, "135": 5, "134": 3, "150": 4, "151": 4, "152": 3,
    "157": 2, "158": 4, "159": 4, "182": 3, "183": 2, "187": 3, "188": 2, "130": 3, "131": 3,
    "132": 2, "155": 2, "156": 2, "185": 2, "186": 3, "133": 2, "153": 2, "180": 2, "181": 2,
    "189": 3, "177": 2, "199": 2, "198": 1, "166": 1, "173": 1, "176": 1, "191": 1, "195": 1,
}  # fmt: skip
# (BIN, card length, weight): China UnionPay debit cards issued in Ningxia.
BANK_BINS: tuple[tuple[str, int, float], ...] = (
    ("622848", 19, 25), ("621700", 19, 15), ("622202", 19, 12), ("621799", 19, 10),
    ("623059", 19, 10), ("622908", 18, 6), ("621483", 16, 6), ("622588", 16, 6),
    ("621226", 19, 5), ("625966", 16, 3), ("622609", 17, 2),
)  # fmt: skip

# --- 信访事项 ------------------------------------------------------------------------------------

PETITION_ISSUES = (
    "土地征收补偿款未足额发放", "拖欠农民工工资", "宅基地确权纠纷", "小区物业服务收费不合理",
    "低保资格认定不公", "村道路面破损多年未修", "养殖场异味扰民", "建筑工地夜间施工噪音扰民",
    "灌溉用水分配不均", "城乡居民养老保险待遇核定有误", "医疗费用报销进度缓慢", "商品房逾期交房",
    "危房改造补助未到位", "土地承包经营权流转纠纷", "枸杞收购款被拖欠", "供暖不达标",
    "退役军人优抚待遇落实", "学校就近入学安排", "集体经济收益分配不公开", "自来水水质浑浊",
)  # fmt: skip
PETITION_REQUESTS = ("请求协调解决", "请求依法处理", "请求尽快落实", "请求予以核查", "请求给予答复",
                     "请求督促整改")  # fmt: skip
